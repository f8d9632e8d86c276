import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const CANARY = "CANARY-7f3a9c";

/**
 * A real tree for escape tests:
 *   BASE/outside/            secret.txt (the canary), sub/f.txt
 *   BASE/allow/              the read-write root (links inside point everywhere)
 *   BASE/allow_x, BASE/allow', BASE/"allow " siblings sharing the root's prefix (canaries)
 *   BASE/ro/                 a read-only root
 */
export function buildEscapeTree(base: string): { allow: string; outside: string; ro: string } {
  const allow = join(base, "allow");
  const outside = join(base, "outside");
  const ro = join(base, "ro");
  for (const d of [outside, join(outside, "sub"), allow, join(allow, "dir/deep"), join(allow, "secrets"), join(allow, "private/inner"), ro, join(ro, "sub")]) {
    mkdirSync(d, { recursive: true });
  }
  writeFileSync(join(outside, "secret.txt"), CANARY);
  writeFileSync(join(outside, "sub/f.txt"), CANARY);
  for (const sib of ["allow_x", "allow'", "allow ", "allow.bak", "allowx"]) {
    mkdirSync(join(base, sib), { recursive: true });
    writeFileSync(join(base, sib, "file.txt"), CANARY);
  }
  writeFileSync(join(allow, "file.txt"), "inside");
  writeFileSync(join(allow, "dir/nested.txt"), "nested");
  writeFileSync(join(allow, "dir/deep/d.txt"), "deep");
  writeFileSync(join(allow, ".env"), "ENV=1");
  writeFileSync(join(allow, "dir/.env"), "ENV=2");
  writeFileSync(join(allow, "secrets/key.pem"), "PEM");
  writeFileSync(join(allow, "private/inner/x.txt"), "PRIVATE");
  writeFileSync(join(ro, "file.txt"), "readonly");
  writeFileSync(join(ro, "sub/s.txt"), "ro-sub");

  const links: [string, string][] = [
    ["link_in_file", "file.txt"],
    ["link_in_dir", "dir"],
    ["link_in_abs", join(allow, "file.txt")],
    ["link_in_abs_dir", join(allow, "dir")],
    ["link_root_abs", allow],
    ["link_root_abs_slash", allow + "/"],
    ["link_dot", "."],
    ["dir/up_link", "../file.txt"],
    ["dir/deep/up2_link", "../../dir/nested.txt"],
    ["chain_in1", "chain_in2"],
    ["chain_in2", "dir/chain_in3"],
    ["dir/chain_in3", "../file.txt"],
    ["link_out_rel", "../outside/secret.txt"],
    ["link_out_dir_rel", "../outside"],
    ["link_out_abs", join(outside, "secret.txt")],
    ["link_out_dir_abs", outside],
    ["link_abs_dotdot", join(allow, "../outside/secret.txt")],
    ["link_abs_dotdot_dir", join(allow, "dir/../../outside")],
    ["link_sibling", join(base, "allow_x/file.txt")],
    ["link_sibling_dir", join(base, "allow_x")],
    ["link_sibling_rel", "../allow_x/file.txt"],
    ["link_quote", join(base, "allow'/file.txt")],
    ["link_space", join(base, "allow /file.txt")],
    ["chain1", "chain2"],
    ["chain2", "dir/chain3"],
    ["dir/chain3", "../../outside/secret.txt"],
    ["chain_dir1", "dir/chain_dir2"],
    ["dir/chain_dir2", "../../outside"],
    ["loop_a", "loop_b"],
    ["loop_b", "loop_a"],
    ["self_loop", "self_loop"],
    ["loop_dir", "loop_dir/x"],
    ["dangling_out", "../outside/created.txt"],
    ["dangling_out_abs", join(outside, "created_abs.txt")],
    ["dangling_out_dir", "../outside/newdir/f.txt"],
    ["dangling_in", "created_by_link.txt"],
    ["link_proc_root", "/proc/self/root" + join(outside, "secret.txt")],
    ["link_proc_cwd", "/proc/self/cwd"],
    ["link_proc_fd", "/proc/self/fd/0"],
    ["link_etc", "/etc/passwd"],
    ["link_slash", "/"],
    ["link_to_env", ".env"],
    ["link_to_private", "private/inner/x.txt"],
    ["dir/escape_dotdot", "../../"],
    ["dir/escape_dotdot_file", "../../outside/secret.txt"],
    ["link_empty_dots", "./././../outside/secret.txt"],
  ];
  for (const [at, target] of links) symlinkSync(target, join(allow, at));
  // 41 hops: one more than the limit.
  for (let i = 0; i < 41; i++) symlinkSync(i === 40 ? "file.txt" : `hop${i + 1}`, join(allow, `hop${i}`));
  // 39 hops: within the limit.
  for (let i = 0; i < 39; i++) symlinkSync(i === 38 ? "file.txt" : `ok${i + 1}`, join(allow, `ok${i}`));
  return { allow, outside, ro };
}

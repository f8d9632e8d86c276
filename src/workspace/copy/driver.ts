import { existsSync } from "node:fs";
import type { OverlayDriver } from "../drivers.js";

/**
 * copy: the fallback for machines where no overlay can be mounted. The workspace's upper layer is a
 * whole copy of the root (copy/populate.ts), bound over the root's path in the holder's namespace; no
 * layers are stacked, so nothing is mounted but binds. Its costs: creation time and disk in
 * proportion to the tree (a `cp -a`), and checkpoints that are copies too (copy/lifecycle.ts). The
 * diff compares the copy with a baseline of the real tree (copy/diff.ts). Kept free of imports that
 * reach the manifest: drivers.ts lists it, and manifest.ts reads drivers.ts.
 */
export const copyDriver: OverlayDriver = {
  name: "copy",
  what: "a full copy of each root bound over its path in a private namespace (creation and checkpoints cost a cp -a)",
  unavailable: () => (existsSync("/bin/cp") || existsSync("/usr/bin/cp") ? null : "cp (coreutils) is not installed"),
  // "$3" is the upper layer: the copy itself. The bind is the whole "mount". The test hook's option
  // makes the target a path that does not exist, so mount(8) itself refuses.
  mountLine: (_env, extra) => `mount --bind "$3" "roots/$i/merged${extra}"`,
  userNamespace: ["--user", "--map-root-user"],
  namespaces: [],
  fsMagic: null,
  encoding: "copy",
  loses: "creation, each checkpoint and each fork cost a full copy of the tree (time and disk, like cp -a), and the real tree's later edits are not seen inside",
  refused: (text) =>
    `the copy driver's bind mount was refused: ${text || "no message"}. It needs a private mount namespace: run as root, or enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)`,
};

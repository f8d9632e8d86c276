import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { GATE_FD } from "./mount-gate.js";
import { MASK_STAGE, type MaskAttach, type MaskSources } from "./mount-plan.js";

/**
 * The helper that attaches deny masks inside the roots by descriptor (native/mask-attach.c, built
 * by `npm run build` into native/build/). Found beside the package: the same relative place from
 * src/ (tests) and dist/.
 */
export const MASK_ATTACH_PATH = fileURLToPath(new URL("../../../native/build/mask-attach", import.meta.url));

/** How masks inside the roots are attached: by the helper, or (without it) by bubblewrap's binds, and why. */
export type MaskAttachMode = { helper: string } | { helper: null; why: string };

/**
 * Checks once, at start, that the helper exists and this kernel and these privileges let it clone
 * mounts in namespaces like bubblewrap's (`--probe`). Without it, masks stay bubblewrap binds by
 * path, which a rename on the host at the wrong moment can turn into an emptied file
 * (docs/CONFINEMENT.md); get_system_info shows why.
 */
export function probeMaskAttach(path = MASK_ATTACH_PATH): MaskAttachMode {
  if (!existsSync(path)) return { helper: null, why: `${path} was not built (npm run build needs a C compiler: cc, gcc or clang)` };
  const probe = spawnSync(path, ["--probe"], { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
  if (probe.status === 0) return { helper: path };
  const why = (probe.stderr?.toString() ?? "").trim().split("\n")[0] || String(probe.error ?? `exit ${probe.status}`);
  return { helper: null, why: `${path} cannot attach mounts here (${why})` };
}

/** The helper's letter for each kind of record. */
const KIND_LETTER: Record<MaskAttach["kind"], string> = { file: "f", dir: "d", pin: "p" };

/**
 * The words that run bubblewrap (the words after them) through the helper, which attaches the pins and masks
 * inside the roots once the sandbox is set up and before its gate reports ready (mount-gate.ts). Empty when there is
 * nothing to attach.
 */
export function maskAttachWords(helper: string, plan: { attach: readonly MaskAttach[]; sources: MaskSources }): string[] {
  const masks = plan.attach;
  if (masks.length === 0) return [];
  const { file, dir } = plan.sources;
  const records = masks.flatMap((m) => [KIND_LETTER[m.kind], m.path, m.holder.dev, m.holder.ino]);
  return [helper, String(GATE_FD.info), String(GATE_FD.ready), MASK_STAGE, file.id.dev, file.id.ino, dir.id.dev, dir.id.ino, ...records, "--"];
}

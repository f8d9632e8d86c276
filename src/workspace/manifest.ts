import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../audit/atomic-file.js";
import { DRIVER_NAMES } from "./drivers.js";
import { WorkspaceError } from "./errors.js";

const layerId = z.string().regex(/^[a-z0-9-]{1,40}$/);

const rootSchema = z.object({
  /** The root's canonical real path: the lower layer, and where the merged view is mounted. */
  path: z.string().startsWith("/"),
  /** Identity of the lower directory when the workspace was made: a moved root is refused. */
  dev: z.string(),
  ino: z.string(),
});

const layerSchema = z.object({
  id: layerId,
  label: z.string().optional(),
  created: z.string(),
  /** When this layer became the upper layer (ns since the epoch): nothing in it is older. */
  startedNs: z.string().optional(),
  /**
   * Earliest moment any entry of this layer can have started shadowing the lower tree, in ns since
   * the epoch, when the entries' own birth times cannot say (a layer copied by `fork`). Apply's
   * conflict check never trusts a birth time later than this.
   */
  floorNs: z.string().optional(),
});

/**
 * A live checkpoint (workspace/snapshot.ts): a copy of the upper layer taken while the server held the
 * workspace quiet. It is a frozen layer on top of the first `base` frozen layers, kept beside the
 * stack, never under the live upper (a file made before it and removed after leaves no whiteout in
 * the upper, so it would come back). `reset --to` and `fork --from` put it on top of its base.
 */
const snapshotSchema = layerSchema.extend({
  label: z.string(),
  base: z.number().int().min(0),
});

export const manifestSchema = z.object({
  version: z.literal(1),
  name: z.string(),
  created: z.string(),
  /** Creation time in ns since the epoch: the conflict floor when a filesystem has no birth times. */
  createdNs: z.string(),
  roots: z.array(rootSchema).min(1),
  /** Frozen layers (checkpoints), bottom to top. Each root has `roots/<i>/layers/<id>/` for each. */
  layers: z.array(layerSchema),
  /** The writable upper layer: `roots/<i>/layers/<id>/` with its workdir `roots/<i>/work-<id>/`. */
  upper: layerSchema,
  /** Live checkpoints, oldest first: `roots/<i>/layers/<id>/` each, beside the stack (snapshotSchema). */
  snapshots: z.array(snapshotSchema).optional(),
  /** The driver that made it (drivers.ts); its layers are in that driver's encoding. Absent: kernel. */
  driver: z.enum(DRIVER_NAMES).optional(),
  /** copy driver: the id of the baseline of the real tree (`roots/<i>/copy/baseline-<id>.json`); absent until the copy is whole. */
  copyBaseline: layerId.optional(),
  /** `live` while a holder keeps it mounted; a dead holder with `live` here is an orphan. */
  state: z.enum(["live", "closed"]),
  holder: z
    .object({
      pid: z.number().int().positive(),
      start: z.string(),
      /** The HTTP address of the server holding it (serve --http), where a live checkpoint is taken; absent over stdio. */
      api: z.string().optional(),
    })
    .nullable(),
  forkedFrom: z.object({ name: z.string(), label: z.string().optional() }).optional(),
  applied: z.string().optional(),
});

export type WorkspaceManifest = z.infer<typeof manifestSchema>;
export type LayerRecord = z.infer<typeof layerSchema>;
export type SnapshotRecord = z.infer<typeof snapshotSchema>;

export const MANIFEST = "manifest.json";

/** Reads and validates a workspace's manifest; a damaged one is reported by name, never guessed at. */
export function readManifest(wsDir: string): WorkspaceManifest {
  const file = join(wsDir, MANIFEST);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new WorkspaceError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed;
  try {
    parsed = manifestSchema.safeParse(JSON.parse(text));
  } catch (err) {
    throw new WorkspaceError(`${file} is not valid JSON (${(err as Error).message}); it was not written by warden, or the disk lost it`);
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WorkspaceError(`${file} is not a workspace manifest: ${issue?.path.join(".") || "(top)"}: ${issue?.message}`);
  }
  return parsed.data;
}

/** Replaces the manifest atomically: one manifest per workspace, and a reader never sees half of it. */
export function writeManifest(wsDir: string, manifest: WorkspaceManifest): void {
  writeFileAtomic(join(wsDir, MANIFEST), `${JSON.stringify(manifestSchema.parse(manifest), null, 2)}\n`, true, 0o644);
}

/** Layer ids sort by creation; the random tail keeps two made in one millisecond apart. */
export function newLayerId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8).padEnd(6, "0")}`;
}

/**
 * Wall-clock now in ns since the epoch, as the decimal string manifests keep, less 20 ms: file
 * timestamps come from the kernel's coarse clock, which lags the precise one by up to a tick, and a
 * timestamp set after this call must not look earlier than it.
 */
export function nowNs(): string {
  return String(BigInt(Date.now() - 20) * 1_000_000n);
}

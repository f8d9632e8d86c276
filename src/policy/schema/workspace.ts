import { z } from "zod";

/** `workspace`: whether the roots are the real tree or a copy-on-write view of it (issue 12). */
export const workspaceSchema = z
  .object({
    mode: z
      .enum(["normal", "overlay"])
      .default("normal")
      .describe(
        "normal: tools and commands work on the real roots. overlay: every writable root becomes a copy-on-write view held in a workspace under the state dir; the real tree is never modified (see docs/EVALUATION.md). `warden serve --overlay` does the same.",
      ),
    driver: z
      .enum(["auto", "kernel", "fuse", "copy"])
      .default("auto")
      .describe(
        "How the copy-on-write view is made: kernel overlayfs in a private namespace, or fuse-overlayfs there (slower; needs the fuse-overlayfs package and /dev/fuse), or, last, copy there: a full copy of each root bound over its path (for machines where no overlay mounts; creation and checkpoints cost a cp -a). auto tries them in that order and says which it uses and why. An existing workspace keeps the driver it was made with. --overlay-driver wins.",
      ),
  })
  .strict();

export type WorkspacePolicy = z.infer<typeof workspaceSchema>;

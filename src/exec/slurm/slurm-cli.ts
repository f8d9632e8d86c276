import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";

/** How the backend reaches Slurm: client programs and the allocation it asks for (policy execution.slurm). */
export interface SlurmSettings {
  salloc: string;
  srun: string;
  scancel: string;
  squeue: string;
  partition?: string;
  account?: string;
  constraint?: string;
  cpus?: number;
  memoryMb?: number;
  timeMinutes?: number;
  /** salloc --immediate: seconds to wait for a grant before failing. */
  immediateS: number;
  /** Job name of every allocation this server makes (stale ones are found by it). */
  jobName: string;
  /** Environment of the client programs (SLURM_CONF is honoured). */
  env: NodeJS.ProcessEnv;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one Slurm client program (no shell), bounded in time. */
export function slurmCli(program: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(program, args, { env, timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : null) : 0;
      const why = err && code === null ? `${(err as Error).message}\n` : "";
      resolve({ code, stdout: String(stdout), stderr: why + String(stderr) });
    });
  });
}

/** Who made an allocation: this host, this process and its start time (a reused pid is not us). */
export function ownerTag(pid = process.pid): string {
  return `mcp-warden host=${hostname()} pid=${pid} start=${processStart(pid) ?? "?"}`;
}

/** Whether the process a tag names is still the one that wrote it. */
export function tagAlive(tag: string): boolean {
  const m = /host=(\S+) pid=(\d+) start=(\S+)/.exec(tag);
  if (!m || m[1] !== hostname()) return true; // not ours to judge: another host's server
  return processStart(Number(m[2])) === m[3];
}

function processStart(pid: number): string | undefined {
  try {
    // Field 22 of /proc/PID/stat (after the parenthesised name, which may hold spaces).
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** The salloc arguments of one session's allocation. */
export function sallocArgs(s: SlurmSettings, tag: string): string[] {
  return [
    "--no-shell",
    `--immediate=${Math.max(1, Math.round(s.immediateS))}`,
    "-N1",
    "-n1",
    `--job-name=${s.jobName}`,
    `--comment=${tag}`,
    ...(s.partition ? [`--partition=${s.partition}`] : []),
    ...(s.account ? [`--account=${s.account}`] : []),
    ...(s.constraint ? [`--constraint=${s.constraint}`] : []),
    ...(s.cpus ? [`--cpus-per-task=${s.cpus}`] : []),
    ...(s.memoryMb ? [`--mem=${s.memoryMb}M`] : []),
    ...(s.timeMinutes ? [`--time=${s.timeMinutes}`] : []),
  ];
}

/**
 * Asks for one allocation. Slurm 22.05's salloc has no --parsable: the job id is on stderr
 * ("Granted job allocation N"). A refusal becomes a message that names the cause and the fix.
 */
export async function allocate(s: SlurmSettings, tag: string): Promise<{ ok: true; job: string } | { ok: false; error: string }> {
  const r = await slurmCli(s.salloc, sallocArgs(s, tag), s.env, (s.immediateS + 20) * 1000);
  const job = /Granted job allocation (\d+)/.exec(r.stderr)?.[1];
  if (r.code === 0 && job) return { ok: true, job };
  // An allocation granted but not reported is cancelled by its tag at the next start-up sweep.
  return { ok: false, error: explainSallocError(r, s) };
}

/** salloc's own words, plus what to change. */
export function explainSallocError(r: CliResult, s: Pick<SlurmSettings, "partition" | "memoryMb" | "immediateS" | "env" | "salloc">): string {
  const text = r.stderr.replace(/\s+$/, "");
  const said = text.split("\n").filter((l) => /error|unable|denied|invalid/i.test(l)).map((l) => l.replace(/^salloc: (error: )?/, "")).join("; ") || text || `exit ${r.code}`;
  let fix = "";
  if (/invalid partition/i.test(text)) fix = `the partition "${s.partition ?? "(default)"}" does not exist on this cluster: set execution.slurm.partition to one that \`sinfo\` lists`;
  else if (/Memory specification can not be satisfied|node configuration is not available/i.test(text)) fix = `no node can grant this allocation${s.memoryMb ? ` (execution.slurm.memory_mb ${s.memoryMb} MB)` : ""}: lower execution.slurm.memory_mb / cpus or drop the constraint (see \`sinfo -o "%N %c %m %f"\`)`;
  else if (/Unable to allocate resources|Resources|Priority/i.test(text)) fix = `the queue could not grant it within ${s.immediateS} s (--immediate): the nodes are busy or down; try again later, or raise execution.slurm.immediate_s`;
  else if (/contact slurm controller|Connection refused|Unable to contact|fetch_config|DNS SRV/i.test(text)) fix = `the Slurm controller is not reachable: is the cluster up, and does SLURM_CONF (${s.env.SLURM_CONF ?? "unset"}) name it?`;
  else if (r.code === null && /ENOENT/.test(text)) fix = `${s.salloc} is not installed here: install slurm-client or set execution.slurm.salloc`;
  return `Slurm refused the session's allocation: ${said}${fix ? `. Fix: ${fix}` : ""}`;
}

/** Cancels a job, or one step of it (`J.S`), with a signal when given. */
export function cancel(s: Pick<SlurmSettings, "scancel" | "env">, id: string, signal?: string): Promise<CliResult> {
  return slurmCli(s.scancel, [...(signal ? [`--signal=${signal}`] : []), id], s.env, 15_000);
}

/**
 * Cancels the allocations a previous run of this server left behind (same job name, a tag that
 * names a process of this host that is gone). Other servers' jobs are left alone.
 */
export async function cancelStale(s: SlurmSettings): Promise<string[]> {
  const r = await slurmCli(s.squeue, ["-h", `--name=${s.jobName}`, "-o", "%i|%k"], s.env, 15_000);
  if (r.code !== 0) return [];
  const stale = r.stdout
    .split("\n")
    .map((l) => l.split("|"))
    .filter(([id, tag]) => id && tag && tag.startsWith("mcp-warden ") && !tagAlive(tag))
    .map(([id]) => id!);
  await Promise.all(stale.map((id) => cancel(s, id)));
  return stale;
}

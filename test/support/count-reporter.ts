import type { Reporter, SerializedError, TestCase, TestModule, TestRunEndReason, TestSuite } from "vitest/node";

/** The closing line's three numbers. */
export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/**
 * Prints one plain closing line, `tests: N passed, N failed, N skipped`, so CI logs end with a
 * count any reader (or log scraper) understands, whatever else ran before. The line never shows
 * a failed run as clean: a test that was meant to run but did not because its file or suite
 * failed around it (a `beforeAll` that threw, an engine that is missing) counts as failed, not
 * skipped, and so does a file or suite that failed with no test to blame (a collection error, an
 * `afterAll` that threw) and every unhandled error.
 */
export default class CountReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError> = [], reason?: TestRunEndReason): void {
    const counts = countTests(modules, unhandledErrors.length);
    const note = reason === "interrupted" ? " (run interrupted)" : "";
    process.stdout.write(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${note}\n`);
  }
}

/** The counts of one run; `unhandled` errors (outside any test) each count as a failure. */
export function countTests(modules: ReadonlyArray<TestModule>, unhandled = 0): Counts {
  const counts: Counts = { passed: 0, failed: unhandled, skipped: 0 };
  for (const mod of modules) countScope(mod, counts);
  return counts;
}

/** Counts the tests of a module or suite; returns how many failures it counted there. */
function countScope(scope: TestModule | TestSuite, counts: Counts, ancestorFailed = false): number {
  const failedHere = ancestorFailed || scope.errors().length > 0;
  let failures = 0;
  for (const child of scope.children) {
    if (child.type === "suite") failures += countScope(child, counts, failedHere);
    else failures += countTest(child, counts, failedHere);
  }
  // A failed module or suite always shows in the count, even when no test of it is to blame.
  if (scope.state() === "failed" && failures === 0) {
    counts.failed++;
    failures++;
  }
  return failures;
}

function countTest(test: TestCase, counts: Counts, scopeFailed: boolean): number {
  const state = test.result().state;
  if (state === "passed") counts.passed++;
  // Skipped on purpose (`skip`, `todo`, `only` elsewhere, `ctx.skip()` in a healthy scope) is skipped.
  else if (state === "skipped" && (test.options.mode !== "run" || !scopeFailed)) counts.skipped++;
  // Failed, or meant to run but stopped by its failed file or suite, or never finished.
  else {
    counts.failed++;
    return 1;
  }
  return 0;
}

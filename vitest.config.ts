import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Security and engine tests start real processes; two cores do not like a crowd.
    maxWorkers: 2,
    reporters: ["default", "./test/support/count-reporter.ts"],
  },
});

import { takeServerErrors } from './server-errors';

// Runs in every test file (jest setupFilesAfterEnv): a server error line written
// during a test fails that test; one written in a suite's hooks fails the suite.
function assertNoServerErrors(when: string): void {
  const errors = takeServerErrors();
  if (errors.length) {
    const shown = errors.slice(0, 5).map((e) => `  [${e.source}] ${e.line.slice(0, 2_000)}`);
    throw new Error(`the server logged ${errors.length} error line(s) ${when}:\n${shown.join('\n')}`);
  }
}

beforeEach(() => assertNoServerErrors('before this test (in a beforeAll hook or an earlier test)'));
afterEach(() => assertNoServerErrors('during this test'));
afterAll(() => assertNoServerErrors("in the suite's hooks"));

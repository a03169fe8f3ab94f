// Types of client-build.js, for the tests that import it (test/support/global-setup.ts).
export declare const CLIENT_BUILD_MARKER: string;
export declare function newestMtime(path: string): number;
export declare function clientBuildIsStale(): boolean;
export declare function buildClient(options?: { quiet?: boolean }): number;

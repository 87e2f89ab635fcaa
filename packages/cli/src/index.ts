/** The `ballast` command as a library: `main(argv)` returns the exit code. */
export { main } from "./main.ts";

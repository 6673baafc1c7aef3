/**
 * Files handed to DuckDB under names it takes literally. DuckDB's readers glob every path they
 * are given (`read_parquet('res[1].parquet')` reads `res1.parquet`), and open whatever is there
 * (a FIFO would block the scan forever). So each file is opened here first, checked to be a
 * regular file, and DuckDB reads it as `/proc/self/fd/<n>` (`/dev/fd/<n>` elsewhere): a name
 * without glob characters that is exactly the file checked, for as long as it stays open.
 */
import { closeSync } from 'node:fs';
import { openRegularFileSync } from '../io/read-regular-file.js';

const FD_FOLDER = process.platform === 'linux' ? '/proc/self/fd' : '/dev/fd';

export class LiteralFiles {
  private constructor(
    private readonly fds: number[],
    /** The names to give DuckDB, in the order the files were given. */
    readonly scanPaths: string[],
  ) {}

  /** Open every file (each must be a regular file; errors carry the failing path in `path`). */
  static open(paths: readonly string[]): LiteralFiles {
    const fds: number[] = [];
    try {
      for (const path of paths) {
        try {
          fds.push(openRegularFileSync(path));
        } catch (error) {
          throw Object.assign(error as Error, { path });
        }
      }
    } catch (error) {
      for (const fd of fds) closeSync(fd);
      throw error;
    }
    return new LiteralFiles(
      fds,
      fds.map((fd) => `${FD_FOLDER}/${fd}`),
    );
  }

  close(): void {
    for (const fd of this.fds.splice(0)) closeSync(fd);
  }
}

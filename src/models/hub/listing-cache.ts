/**
 * The revision listings one command has made, by endpoint, repo, revision and path, so a sweep
 * that lists its members while planning (src/sweep/sweep-revisions.ts) does not list them again
 * to download them. Small and free of the Hub client, so a command can hold one without loading it.
 */
/** A file of a revision as the Hub lists it (src/models/hub/hub-api.ts checks every field). */
export interface RemoteFile {
  path: string;
  size: number;
  /** The git blob's sha1: the etag (and cache blob name) of a file not in LFS, checked after download. */
  gitOid?: string;
  /** An LFS (or Xet) file's sha256: its etag, and checked after download. */
  sha256?: string;
}

/** A revision's commit and its files. */
export interface RevisionListing {
  sha: string;
  files: Map<string, RemoteFile>;
}

/** The listings one command has made (by endpoint, repo, revision and path), at most `kept` of them. */
export class ListingCache {
  private readonly listings = new Map<string, RevisionListing>();

  constructor(private readonly kept = 20_000) {}

  get(key: string): RevisionListing | undefined {
    return this.listings.get(key);
  }

  set(key: string, listing: RevisionListing): void {
    this.listings.set(key, listing);
    if (this.listings.size > this.kept) this.listings.delete(this.listings.keys().next().value!);
  }
}

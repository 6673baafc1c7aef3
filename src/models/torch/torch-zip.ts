/**
 * The records of a torch.save zip (torch ≥ 1.6): `<prefix>/data.pkl`, `<prefix>/data/<key>`
 * per storage, `<prefix>/version`, `<prefix>/byteorder`…, where the prefix is whatever the
 * writer chose (`archive`, the file's stem). yauzl reads the central directory (zip64
 * included); on top of it every record we use must be stored (torch never compresses, and a
 * compressed record cannot be referenced in place: it is refused, never inflated, so a zip
 * bomb costs nothing), unencrypted, inside the file, named the same in its local header, and
 * apart from every other record.
 */
import yauzl from 'yauzl';
import { closeSync } from 'node:fs';
import { openRegularFileSync } from '../../io/read-regular-file.js';

/** At most this many records (a state dict has one per storage, plus a few). */
export const MAX_ZIP_RECORDS = 250_000;

export class ZipError extends Error {}

export interface ZipRecord {
  name: string;
  /** Absolute offset of the record's first data byte. */
  dataStart: number;
  size: number;
}

export interface TorchZip {
  /** The folder the records are under, e.g. `archive` (no slash). */
  prefix: string;
  /** Every record's central-directory entry, by name. */
  entries: Map<string, yauzl.Entry>;
  /** The data range of a record, checked; undefined when there is no such record. */
  record(name: string): Promise<ZipRecord | undefined>;
  /** Throws when two of the records read so far share bytes. */
  checkApart(): void;
  close(): void;
}

function readEntries(zip: yauzl.ZipFile): Promise<Map<string, yauzl.Entry>> {
  return new Promise((resolve, reject) => {
    const entries = new Map<string, yauzl.Entry>();
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entries.has(entry.fileName)) {
        reject(new ZipError(`it has two records named ${JSON.stringify(entry.fileName)}`));
        zip.close();
        return;
      }
      entries.set(entry.fileName, entry);
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', (error: Error) => reject(new ZipError(`its zip structure is invalid (${error.message})`)));
    zip.readEntry();
  });
}

function localHeader(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<yauzl.LocalFileHeader> {
  return new Promise((resolve, reject) => {
    zip.readLocalFileHeader(entry, {}, (error, header) =>
      error ? reject(new ZipError(`record ${JSON.stringify(entry.fileName)} is invalid (${error.message})`)) : resolve(header),
    );
  });
}

export async function openTorchZip(file: string): Promise<TorchZip> {
  let zip: yauzl.ZipFile;
  const fd = openRegularFileSync(file); // never a FIFO, whatever replaced the file since it was checked
  try {
    zip = await yauzl.fromFdPromise(fd, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true });
  } catch (error) {
    closeSync(fd);
    throw new ZipError(`it is not a readable zip (${(error as Error).message})`);
  }
  try {
    if (zip.entryCount > MAX_ZIP_RECORDS) throw new ZipError(`its zip directory claims ${zip.entryCount} records (at most ${MAX_ZIP_RECORDS})`);
    const entries = await readEntries(zip);
    const pickles = [...entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
    if (pickles.length !== 1) {
      throw new ZipError(
        pickles.length === 0
          ? 'it has no <prefix>/data.pkl record: a zip, but not a torch.save checkpoint'
          : `it has ${pickles.length} data.pkl records (${pickles.slice(0, 3).join(', ')})`,
      );
    }
    const prefix = pickles[0]!.slice(0, -'/data.pkl'.length);
    const used = new Map<string, { name: string; from: number; to: number }>();
    const record = async (name: string): Promise<ZipRecord | undefined> => {
      const entry = entries.get(name);
      if (entry === undefined) return undefined;
      if (entry.isEncrypted()) throw new ZipError(`record ${JSON.stringify(name)} is encrypted`);
      if (entry.compressionMethod !== 0) {
        throw new ZipError(
          `record ${JSON.stringify(name)} is compressed (method ${entry.compressionMethod}, ${entry.compressedSize} bytes said to inflate to ${entry.uncompressedSize}); torch.save stores records uncompressed, so the file was repacked, and compressed records are never inflated here: re-save it with torch.save or convert it to safetensors`,
        );
      }
      const header = await localHeader(zip, entry);
      if (header.compressionMethod !== 0) throw new ZipError(`record ${JSON.stringify(name)} is stored in the directory but compressed in its local header`);
      if (header.fileName.toString('utf8') !== name)
        throw new ZipError(`record ${JSON.stringify(name)} is named ${JSON.stringify(header.fileName.toString('utf8'))} in its local header`);
      used.set(name, { name, from: entry.relativeOffsetOfLocalHeader, to: header.fileDataStart + entry.uncompressedSize });
      return { name, dataStart: header.fileDataStart, size: entry.uncompressedSize };
    };
    const checkApart = () => {
      const sorted = [...used.values()].sort((a, b) => a.from - b.from);
      for (let i = 1; i < sorted.length; i += 1) {
        if (sorted[i]!.from < sorted[i - 1]!.to)
          throw new ZipError(`records ${JSON.stringify(sorted[i - 1]!.name)} and ${JSON.stringify(sorted[i]!.name)} overlap (a crafted zip)`);
      }
    };
    return { prefix, entries, record, checkApart, close: () => zip.close() };
  } catch (error) {
    zip.close();
    throw error;
  }
}

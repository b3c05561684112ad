// The files of a drop: dropped folders are walked (webkitGetAsEntry), like the folder picker does.

/** Every file dropped, folders included (recursively). */
export async function droppedFiles(data: DataTransfer): Promise<File[]> {
  const entries = Array.from(data.items)
    .filter((item) => item.kind === 'file')
    .map((item) => item.webkitGetAsEntry());
  // Without entry support (or for plain files) DataTransfer.files is the list.
  if (entries.some((e) => e === null) || !entries.some((e) => e?.isDirectory)) return Array.from(data.files);
  const files: File[] = [];
  for (const entry of entries) if (entry) await walk(entry, files);
  return files;
}

async function walk(entry: FileSystemEntry, out: File[]): Promise<void> {
  if (isFile(entry)) {
    const file = await new Promise<File>((resolve, reject) => entry.file(resolve, reject));
    // Files read from an entry have no webkitRelativePath; the folder picker's form of the path is what
    // the folder-per-person naming rule reads.
    Object.defineProperty(file, 'webkitRelativePath', { value: entry.fullPath.replace(/^\//, '') });
    out.push(file);
  } else if (isDirectory(entry)) {
    const reader = entry.createReader();
    // readEntries returns the directory in chunks (100 at a time in Chromium) until an empty one.
    for (;;) {
      const chunk = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
      if (chunk.length === 0) break;
      for (const child of chunk) await walk(child, out);
    }
  }
}

const isFile = (e: FileSystemEntry): e is FileSystemFileEntry => e.isFile;
const isDirectory = (e: FileSystemEntry): e is FileSystemDirectoryEntry => e.isDirectory;

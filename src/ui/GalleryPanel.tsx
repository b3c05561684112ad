// Building the gallery: add images (files, a folder, drag and drop), with identities from the naming rules
// of src/protocol or typed; see, delete, clear, export and import the entries.

import { useMemo, useState, type DragEvent, type KeyboardEvent } from 'react';
import type { GalleryEntry } from '../gallery';
import { countPeople, labelOf, NAME_RULE_TITLES } from '../protocol';
import { useEngine } from '../store/engine';
import { useGallery, type GalleryJob } from '../store/gallery';
import { droppedFiles } from './droppedFiles';
import { labelCaption } from './labelCaption';
import { ProgressBar } from './ProgressBar';
import { Thumbnail } from './Thumbnail';

/** Entries drawn at most: the newest ones (thousands of thumbnails would make the page crawl). */
const MAX_SHOWN = 240;

const JOB_LABEL: Record<GalleryJob['kind'], string> = {
  add: 'Embedding images',
  import: 'Importing',
  reembed: 'Embedding the gallery again with the current model',
};

function JobProgress({ job }: { job: GalleryJob }) {
  const label = `${JOB_LABEL[job.kind]}: ${job.done} of ${job.total}${job.failed ? ` (${job.failed} failed)` : ''}`;
  return <ProgressBar value={job.total ? job.done / job.total : null} label={label} testId="gallery-progress" />;
}

function AddImages() {
  const typedIdentity = useGallery((s) => s.typedIdentity);
  const { setTypedIdentity, addFiles } = useGallery.getState();
  const modelReady = useEngine((s) => s.status === 'ready');
  const [dragging, setDragging] = useState(false);

  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    void addFiles(await droppedFiles(e.dataTransfer));
  };

  return (
    <div
      className={`dropzone${dragging ? ' dragging' : ''}`}
      data-testid="gallery-dropzone"
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => void onDrop(e)}
    >
      <p>
        Drop images or folders here, or choose them below. Each image is embedded at every stage of the model and fused.
        {!modelReady && ' (They will be embedded once the model is ready.)'}
      </p>
      <label className="field">
        <span>Identity</span>
        <input
          type="text"
          value={typedIdentity}
          placeholder="read from file or folder names"
          onChange={(e) => setTypedIdentity(e.target.value)}
          aria-describedby="identity-help"
          data-testid="gallery-identity"
        />
      </label>
      <p id="identity-help" className="muted small">
        Leave empty to read the person and camera from dataset file names (Market-1501 0002_c1s1_000451_03.jpg → person 0002,
        camera 1; DukeMTMC-reID 0005_c2_f0046985.jpg; MSMT17 0001_c1_0001.jpg), else from the folder an image is in (a folder
        per person); type one to give it to every image added next. Market-1501 junk (-1_…) and distractors (0000_…) stay
        in as images of nobody: searchable, never a person.
      </p>
      <div className="row">
        <label className="button">
          Add images…
          <input
            type="file"
            multiple
            accept="image/*"
            className="visually-hidden"
            data-testid="gallery-upload"
            onChange={(e) => {
              void addFiles(Array.from(e.target.files ?? []));
              e.target.value = '';
            }}
          />
        </label>
        <label className="button">
          Add a folder…
          <input
            type="file"
            multiple
            className="visually-hidden"
            data-testid="gallery-folder-upload"
            ref={(el) => el?.setAttribute('webkitdirectory', '')}
            onChange={(e) => {
              void addFiles(Array.from(e.target.files ?? []));
              e.target.value = '';
            }}
          />
        </label>
      </div>
    </div>
  );
}

function StorageState() {
  const { persistent, unsaved, entries } = useGallery();
  if (!persistent) return <p className="warning small">Browser storage is unavailable: this gallery lasts only as long as the tab. Export it to keep it.</p>;
  if (unsaved.size > 0) {
    return (
      <p className="warning small" data-testid="gallery-unsaved">
        {unsaved.size} of {entries.length} entries are not saved in this browser (storage refused them). Export the gallery to keep them.
      </p>
    );
  }
  return <p className="muted small">Saved in this browser: the gallery survives reloads.</p>;
}

function ManageGallery() {
  const count = useGallery((s) => s.entries.length);
  const cleared = useGallery((s) => s.cleared);
  const busy = useGallery((s) => s.job !== null);
  const { clear, undoClear, exportGallery, importGallery } = useGallery.getState();
  const [replace, setReplace] = useState(false);
  return (
    <div className="row wrap">
      <button type="button" onClick={exportGallery} disabled={count === 0} data-testid="gallery-export">
        Export…
      </button>
      <label className="button">
        Import…
        <input
          type="file"
          accept=".reidgallery"
          className="visually-hidden"
          data-testid="gallery-import"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void importGallery(file, replace);
            e.target.value = '';
          }}
        />
      </label>
      <label className="checkbox">
        <input type="checkbox" checked={replace} onChange={(e) => setReplace(e.target.checked)} data-testid="gallery-import-replace" />
        import replaces the gallery
      </label>
      <button type="button" className="danger" onClick={() => void clear()} disabled={count === 0 || busy} data-testid="gallery-clear">
        Delete all
      </button>
      {cleared && (
        <button type="button" onClick={() => void undoClear()} data-testid="gallery-undo-clear">
          Undo delete all ({cleared.length})
        </button>
      )}
    </div>
  );
}

/** The identity, renamed in place: Enter commits, Escape (or leaving the field) keeps the old one. */
function RenameField({ entry, onDone }: { entry: GalleryEntry; onDone: () => void }) {
  const rename = useGallery((s) => s.rename);
  const [empty, setEmpty] = useState(false);
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Escape') onDone();
    if (e.key !== 'Enter') return;
    const identity = e.currentTarget.value.trim();
    if (!identity) {
      setEmpty(true);
      return;
    }
    onDone();
    if (identity !== entry.identity) void rename(entry.id, identity);
  };
  return (
    <>
      <input
        type="text"
        className="entry-rename"
        defaultValue={entry.identity}
        // The field appears because the user asked to type in it.
        autoFocus
        onFocus={(e) => e.currentTarget.select()}
        onKeyDown={onKeyDown}
        onBlur={onDone}
        aria-label={`New identity of ${entry.fileName}`}
        aria-invalid={empty}
        data-testid="gallery-rename-input"
      />
      {empty && <span className="warning small">Type a name (Escape keeps {entry.identity}).</span>}
    </>
  );
}

function EntryItem({ entry: e, unsaved }: { entry: GalleryEntry; unsaved: boolean }) {
  const remove = useGallery((s) => s.remove);
  const [renaming, setRenaming] = useState(false);
  const label = labelOf(e);
  return (
    <li
      className="entry"
      data-testid="gallery-item"
      data-identity={e.identity}
      data-kind={label.kind}
      data-rule={label.rule}
      data-camera={e.camera ?? ''}
      data-camera-name={e.cameraName ?? ''}
      data-id={e.id}
      data-file-name={e.fileName}
    >
      <Thumbnail blob={e.thumbnail} alt={label.kind === 'person' ? `Person ${e.identity}` : `A ${label.kind} image`} className="thumb" />
      {renaming ? (
        <RenameField entry={e} onDone={() => setRenaming(false)} />
      ) : (
        <span className="entry-caption">
          <strong>{labelCaption(label)}</strong>
          {e.camera !== null && <span className="muted"> cam {e.camera}</span>}
          {unsaved && <span className="warning" title="Not saved in this browser"> •</span>}
        </span>
      )}
      {e.cameraName && (
        <span className="entry-file muted small" title={`Added at ${e.cameraName}`} data-testid="gallery-item-camera-name">
          at {e.cameraName}
        </span>
      )}
      <span className="entry-file muted small" title={e.fileName}>
        {e.fileName}
      </span>
      <span className="entry-rule muted small" data-testid="gallery-item-rule">
        by {NAME_RULE_TITLES[label.rule]}
      </span>
      <span className="entry-actions">
        <button type="button" className="inline" onClick={() => setRenaming(true)} disabled={renaming} aria-label={`Rename ${e.fileName}`} data-testid="gallery-rename">
          Rename
        </button>
        <button type="button" className="inline danger" onClick={() => void remove(e.id)} aria-label={`Delete ${e.fileName}`} data-testid="gallery-delete">
          Delete
        </button>
      </span>
    </li>
  );
}

function EntryGrid() {
  const entries = useGallery((s) => s.entries);
  const unsaved = useGallery((s) => s.unsaved);
  if (entries.length === 0) return <p className="muted">The gallery is empty.</p>;
  const shown = entries.slice(-MAX_SHOWN).reverse();
  return (
    <>
      {entries.length > shown.length && (
        <p className="muted small">
          Showing the newest {shown.length} of {entries.length} entries.
        </p>
      )}
      <ul className="entry-grid" aria-label="Gallery entries, newest first">
        {shown.map((e) => (
          <EntryItem key={e.id} entry={e} unsaved={unsaved.has(e.id)} />
        ))}
      </ul>
    </>
  );
}

export function GalleryPanel() {
  const entries = useGallery((s) => s.entries);
  const job = useGallery((s) => s.job);
  const count = entries.length;
  const { people, nobody } = useMemo(() => {
    const labels = entries.map(labelOf);
    return { people: countPeople(labels), nobody: labels.filter((l) => l.kind !== 'person').length };
  }, [entries]);
  return (
    <section className="panel gallery" aria-labelledby="gallery-title">
      <h2 id="gallery-title">
        Gallery: <span data-testid="gallery-count">{count}</span> {count === 1 ? 'image' : 'images'}
        {count > 0 && (
          <span className="muted small">
            {' '}
            of <span data-testid="gallery-people">{people}</span> {people === 1 ? 'person' : 'people'}
            {nobody > 0 && ` (and ${nobody} junk or distractor ${nobody === 1 ? 'image' : 'images'} of nobody)`}
          </span>
        )}
      </h2>
      <AddImages />
      {job && <JobProgress job={job} />}
      <StorageState />
      <ManageGallery />
      <EntryGrid />
    </section>
  );
}

// Searching: a query image, its top-k matches for the embedding the budget produced, and the ranked lists
// of every stage side by side.

import { useMemo } from 'react';
import { stageKey, type Match, type StageId } from '../engine';
import type { GalleryEntry } from '../gallery';
import { labelOf, parseImageName } from '../protocol';
import { useEngine } from '../store/engine';
import { useGallery } from '../store/gallery';
import type { RerankState } from '../app/queryService';
import { SEARCH } from '../config';
import { useQuery, type QueryOutcome } from '../store/query';
import { MAX_TOP_K, useSettings } from '../store/settings';
import { budgetLabel, isNoLimit } from './budgetScale';
import { labelCaption } from './labelCaption';
import { stageLabel } from './stageLabel';
import { Thumbnail } from './Thumbnail';

function useEntriesById(): Map<string, GalleryEntry> {
  const entries = useGallery((s) => s.entries);
  return useMemo(() => new Map(entries.map((e) => [e.id, e])), [entries]);
}

/** The query's identity when its file name names a person (to mark correct matches), else null. */
function useQueryIdentity(): string | null {
  const fileName = useQuery((s) => s.image?.fileName);
  const label = fileName ? parseImageName(fileName) : null;
  return label?.kind === 'person' ? label.identity : null;
}

/** A match marked against the query's identity: distractors are different people, junk is nobody. */
function verdictOf(queryIdentity: string | null, e: GalleryEntry): string {
  const label = labelOf(e);
  if (queryIdentity === null || label.kind === 'junk') return '';
  return label.kind === 'person' && label.identity === queryIdentity ? ' same' : ' different';
}

const fmtMs = (ms: number) => `${ms.toFixed(1)} ms`;

function QueryInput() {
  const search = useQuery((s) => s.search);
  const ready = useEngine((s) => s.status === 'ready');
  const { flip, rerank, topK, setFlip, setRerank, setTopK } = useSettings();
  return (
    <div className="row wrap">
      <label className="button">
        Choose a query image…
        <input
          type="file"
          accept="image/*"
          className="visually-hidden"
          data-testid="query-upload"
          disabled={!ready}
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void search(file);
            e.target.value = '';
          }}
        />
      </label>
      <label className="checkbox">
        <input type="checkbox" checked={flip} onChange={(e) => setFlip(e.target.checked)} data-testid="flip-toggle" />
        average with the mirrored image (2× cost)
      </label>
      <label className="checkbox">
        <input type="checkbox" checked={rerank} onChange={(e) => setRerank(e.target.checked)} data-testid="search-rerank" />
        re-rank (k-reciprocal, galleries up to {SEARCH.rerankMaxEntries.toLocaleString('en')} images)
      </label>
      <label className="field inline-field">
        <span>Matches shown</span>
        <input type="number" min={1} max={MAX_TOP_K} value={topK} onChange={(e) => setTopK(Number(e.target.value))} data-testid="top-k" />
      </label>
    </div>
  );
}

function RunSummary({ outcome }: { outcome: QueryOutcome }) {
  const { run, budgetMs, flip } = outcome;
  return (
    <p className="run-summary">
      {isNoLimit(budgetMs) ? 'With no time limit' : `Within a budget of ${budgetLabel(budgetMs)}`}
      {flip ? ' (with flip averaging)' : ''} the query reached{' '}
      <strong className="badge" data-testid="stage-used">
        {String(run.stage)}
      </strong>{' '}
      ({outcome.layout.describe(run.stage)}) in {fmtMs(run.totalMs)}
      {run.overran && <span className="warning"> — over budget: stage 1 always runs, and it alone took longer</span>}. Steps:{' '}
      {run.stageMs.map(fmtMs).join(' + ')}. <RerankNote rerank={outcome.rerank} />
    </p>
  );
}

function RerankNote({ rerank }: { rerank: RerankState }) {
  switch (rerank.state) {
    case 'off':
      return null;
    case 'running':
      return <span data-testid="rerank-state" data-state="running">Re-ranking…</span>;
    case 'done':
      return (
        <span data-testid="rerank-state" data-state="done">
          Re-ranked (k-reciprocal) in {fmtMs(rerank.queryMs)}
          {rerank.prepareMs > 0 ? `, after preparing the gallery in ${fmtMs(rerank.prepareMs)}` : ''}; distances are re-ranked ones.
        </span>
      );
    case 'too-large':
      return (
        <span data-testid="rerank-state" data-state="too-large" className="warning">
          Not re-ranked: the gallery holds {rerank.entries.toLocaleString('en')} images, more than {SEARCH.rerankMaxEntries.toLocaleString('en')}.
        </span>
      );
    case 'failed':
      return (
        <span data-testid="rerank-state" data-state="failed" className="warning">
          Not re-ranked: {rerank.message}.
        </span>
      );
  }
}

function MatchList({ matches, entries, queryIdentity }: { matches: Match[]; entries: Map<string, GalleryEntry>; queryIdentity: string | null }) {
  return (
    <ol className="results" aria-label="Matches, nearest first">
      {matches.map((m, rank) => {
        const e = entries.get(m.id);
        if (!e) return null;
        const verdict = verdictOf(queryIdentity, e);
        return (
          <li key={m.id} className={`result${verdict}`} data-testid="result-item" data-id={m.id} data-identity={e.identity} data-camera={e.camera ?? ''} data-distance={m.distance}>
            <Thumbnail blob={e.thumbnail} alt={`Person ${e.identity}`} className="thumb" />
            <span className="result-caption">
              <span>
                <span className="rank">#{rank + 1}</span> <strong>{labelCaption(labelOf(e))}</strong>
              </span>
              {e.camera !== null && <span className="muted"> cam {e.camera}</span>}
              <span className="distance">d = {m.distance.toFixed(3)}</span>
            </span>
          </li>
        );
      })}
    </ol>
  );
}

function StageColumns({ outcome, entries, queryIdentity }: { outcome: QueryOutcome; entries: Map<string, GalleryEntry>; queryIdentity: string | null }) {
  return (
    <div className="stage-view" data-testid="stage-view">
      <h3>Every stage side by side</h3>
      <p className="muted small">
        The ranked lists of every stage's embedding and the fused one (computed in full for this view). The highlighted column is the
        embedding the budget produced.
      </p>
      <div className="stage-columns">
        {outcome.layout.ids.map((s: StageId) => {
          const matches = outcome.perStage[stageKey(s)] ?? [];
          const used = s === outcome.run.stage;
          return (
            <section key={stageKey(s)} className={`stage-column${used ? ' used' : ''}`} data-testid="stage-column" data-stage={stageKey(s)} aria-label={stageLabel(s)}>
              <h4>
                {stageLabel(s)}
                {used && <span className="badge">budget</span>}
              </h4>
              <ol>
                {matches.map((m) => {
                  const e = entries.get(m.id);
                  if (!e) return null;
                  const verdict = verdictOf(queryIdentity, e);
                  return (
                    <li key={m.id} className={`stage-result${verdict}`} data-testid="stage-result-item" data-id={m.id} data-identity={e.identity} data-distance={m.distance}>
                      <Thumbnail blob={e.thumbnail} alt={`Person ${e.identity}`} className="thumb small" />
                      <span className="small">
                        {labelCaption(labelOf(e))} · {m.distance.toFixed(3)}
                      </span>
                    </li>
                  );
                })}
              </ol>
            </section>
          );
        })}
      </div>
    </div>
  );
}

export function QueryPanel() {
  const image = useQuery((s) => s.image);
  const status = useQuery((s) => s.status);
  const outcome = useQuery((s) => s.outcome);
  const galleryCount = useGallery((s) => s.entries.length);
  const entries = useEntriesById();
  const queryIdentity = useQueryIdentity();

  return (
    <section className="panel query" aria-labelledby="query-title">
      <h2 id="query-title">Search</h2>
      <QueryInput />
      {galleryCount === 0 && <p className="muted">Add images to the gallery to search it.</p>}
      {status === 'decoding' && <p className="muted">Reading the image…</p>}
      {image && (
        <div className="query-result" data-status={status} data-testid="query-result">
          <figure className="query-image">
            <Thumbnail blob={image.thumbnail} alt="Query image" className="thumb large" />
            <figcaption className="small">
              {image.fileName}
              {queryIdentity && <span className="muted"> (person {queryIdentity})</span>}
            </figcaption>
          </figure>
          <div className="query-matches">
            {outcome ? (
              <>
                <RunSummary outcome={outcome} />
                <MatchList matches={outcome.matches} entries={entries} queryIdentity={queryIdentity} />
              </>
            ) : (
              <p className="muted">Searching…</p>
            )}
          </div>
        </div>
      )}
      {image && outcome && <StageColumns outcome={outcome} entries={entries} queryIdentity={queryIdentity} />}
    </section>
  );
}

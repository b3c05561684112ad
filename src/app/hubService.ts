// The device's side of the hub: it shares this device's gallery changes and webcam sightings with every
// other device through the hub, and brings theirs in. Local-first: every change is an event in the outbox
// (persisted) before it is sent, and leaves the outbox only when the hub acknowledges it, so nothing made
// offline or during a hub crash is lost; the hub's events are merged with the same rules everywhere
// (src/hub/merge.ts) and applied to the gallery page by page, each page stored before its sequence number
// is, so a device resumes where it stopped without duplicates. Thumbnails come last, in the background: a
// joining device searches what it has received before the sync ends. No React: stores mirror the state.
import { HUB } from '../config';
import type { GalleryEntry } from '../gallery';
import { MergeState, type EntryState } from '../hub/merge';
import { HUB_LIMITS, HUB_PATH, JOIN_FRAGMENT_KEY, type HubEvent, type SequencedEvent, type ServerMessage } from '../hub/protocol';
import type { GalleryChange, GallerySession } from './gallerySession';
import { HubConnection as HubSocketConnection, hubUrl, type HubTransport, type SocketStatus } from './hubConnection';
import { fromHubEntry, toHubEntry } from './hubEntries';
import type { HubDevice, HubSighting, HubStorage, HubWrite, OutboxItem, StoredHub } from './hubStorage';
import { newEntryId } from './ids';
import type { Notify } from './notify';
import { Observable } from './observable';

export type { HubSighting } from './hubStorage';

export type HubConnection = 'not-joined' | 'connecting' | 'syncing' | 'connected' | 'offline';

export interface HubState {
  connection: HubConnection;
  /** Why the hub is offline or refused something (shown in the panel), else null. */
  problem: string | null;
  deviceId: string;
  cameraName: string;
  /** entries: live entries of the shared gallery this device knows; pending: own events not yet
   * acknowledged; sightings: sightings known. */
  counts: { entries: number; pending: number; sightings: number };
  /** While catching up: events received of those the hub had at hello. */
  syncProgress: { received: number; total: number } | null;
  /** Sightings by identity, newest first. */
  sightings: ReadonlyMap<string, readonly HubSighting[]>;
}

export interface HubServiceDeps extends HubTransport {
  gallery: GallerySession;
  storage: HubStorage;
  notify: Notify;
  /** The page's address, read for the join fragment, and how to rewrite it without (history.replaceState). */
  page: { href(): string; replace(url: string): void };
  now?: () => number;
}

const SECRET_PATTERN = new RegExp(`^[0-9a-f]{${HUB_LIMITS.secretHexChars}}$`);

export class HubService extends Observable<HubState> {
  private readonly merge = new MergeState();
  private readonly connection: HubSocketConnection;
  private readonly now: () => number;
  private secret: string | null = null;
  private hubId: string | undefined;
  private since = 0;
  private outbox: OutboxItem[] = [];
  private nextOrder = 0;
  /** Outbox events sent on the current socket and not yet answered. */
  private readonly inFlight = new Set<string>();
  private readonly sightingIds = new Set<string>();
  /** Set once hello is sent on the current socket. */
  private helloSent = false;
  private persistent = true;
  private started: Promise<void> | null = null;
  /** Local changes turn into events one after another (each needs the previous one's merge state). */
  private work: Promise<void> = Promise.resolve();
  private readonly thumbnailQueue: string[] = [];
  private thumbnailWorkers = 0;

  constructor(private readonly deps: HubServiceDeps) {
    super({
      connection: 'not-joined',
      problem: null,
      deviceId: '',
      cameraName: '',
      counts: { entries: 0, pending: 0, sightings: 0 },
      syncProgress: null,
      sightings: new Map(),
    });
    this.now = deps.now ?? Date.now;
    this.connection = new HubSocketConnection(deps, {
      status: (s) => this.onSocketStatus(s),
      message: (m) => this.onMessage(m),
    });
  }

  /** Reads the join fragment (#hub=<secret>) of the page, stores the secret, strips the fragment, connects.
   * Without a fragment, connects with a stored secret if any. */
  start(): Promise<void> {
    this.started ??= this.begin();
    return this.started;
  }

  private async begin(): Promise<void> {
    const stored = await this.load();
    const device: HubDevice = stored.device ?? (() => {
      const deviceId = newEntryId();
      return { deviceId, cameraName: `Camera ${deviceId.slice(0, 4)}` };
    })();
    if (!stored.device) await this.save({ device });
    this.hubId = stored.hubId;
    this.since = stored.since;
    this.outbox = stored.outbox;
    this.nextOrder = (this.outbox.at(-1)?.order ?? 0) + 1;
    this.merge.restore(stored.merge);
    const sightings = new Map<string, HubSighting[]>();
    for (const s of stored.sightings) {
      this.sightingIds.add(s.id);
      (sightings.get(s.identity) ?? sightings.set(s.identity, []).get(s.identity)!).push(s);
    }
    for (const list of sightings.values()) list.sort((a, b) => b.at - a.at);
    this.update({ deviceId: device.deviceId, cameraName: device.cameraName, sightings });
    this.refreshCounts();

    this.deps.gallery.onLocalChange((change) => this.enqueue(() => this.onLocalChange(change)));
    const joined = this.readJoinFragment();
    const secret = joined ?? stored.secret ?? null;
    if (joined && joined !== stored.secret) await this.save({ secret: joined });
    if (secret) await this.join(secret);
  }

  /** The secret in the page's fragment (which is then removed from the address), if any. */
  private readJoinFragment(): string | null {
    const url = new URL(this.deps.page.href());
    const value = new URLSearchParams(url.hash.slice(1)).get(JOIN_FRAGMENT_KEY);
    if (value === null) return null;
    url.hash = '';
    this.deps.page.replace(url.href);
    const secret = value.trim().toLowerCase();
    if (SECRET_PATTERN.test(secret)) return secret;
    this.deps.notify.error('The join link is damaged (its secret is not 64 hexadecimal characters): copy it again from the hub.');
    return null;
  }

  private async join(secret: string): Promise<void> {
    this.secret = secret;
    this.deps.gallery.setCameraName(this.state.cameraName);
    this.deps.gallery.setThumbnailSource((entry) => this.fetchThumbnail(entry.id));
    await this.whenGalleryLoaded();
    await this.enqueue(() => this.shareUntracked());
    this.queueMissingThumbnails();
    this.connection.connect(secret);
  }

  async setCameraName(name: string): Promise<void> {
    await this.start();
    const cameraName = name.trim();
    if (cameraName === '' || cameraName.length > HUB_LIMITS.cameraNameChars) {
      this.deps.notify.error(`The camera name was not changed: it needs 1 to ${HUB_LIMITS.cameraNameChars} characters.`);
      return;
    }
    await this.save({ device: { deviceId: this.state.deviceId, cameraName } });
    if (this.secret) this.deps.gallery.setCameraName(cameraName);
    this.update({ cameraName });
  }

  /** Records (and syncs) a sighting of `identity` through gallery entry `entryId` at this device's camera. */
  recordSighting(s: { identity: string; entryId: string; distance: number }): void {
    if (!this.secret || !this.state.deviceId) return;
    const identity = s.identity.trim().slice(0, HUB_LIMITS.identityChars);
    if (!identity) return;
    const event: HubEvent = {
      kind: 'sighting',
      ...this.stamp(),
      identity,
      entryId: s.entryId,
      cameraName: this.state.cameraName,
      distance: Math.min(4, Math.max(0, s.distance)),
    };
    void this.enqueue(() => this.record([event]));
  }

  /** The most recent sighting of `identity`, preferring other cameras than this device's (else this one's). */
  lastSeen(identity: string): HubSighting | undefined {
    const list = this.state.sightings.get(identity);
    return list?.find((s) => s.device !== this.state.deviceId) ?? list?.[0];
  }

  /** Forgets the secret and disconnects (the local gallery stays, and so does what is still unsent). */
  async leave(): Promise<void> {
    await this.start();
    this.secret = null;
    this.connection.disconnect();
    this.deps.gallery.setCameraName(null);
    this.deps.gallery.setThumbnailSource(null);
    this.thumbnailQueue.length = 0;
    await this.save({ secret: null });
    this.update({ connection: 'not-joined', problem: null, syncProgress: null });
  }

  // ---- storage --------------------------------------------------------------------------------------

  private async load(): Promise<StoredHub> {
    try {
      return await this.deps.storage.load();
    } catch {
      this.storageLost();
      return { since: 0, outbox: [], merge: [], sightings: [] };
    }
  }

  /** Writes through to IndexedDB; when that is unusable, the hub goes on for this tab. */
  private async save(w: HubWrite): Promise<void> {
    if (!this.persistent) return;
    try {
      await this.deps.storage.write(w);
    } catch {
      this.storageLost();
    }
  }

  private storageLost(): void {
    if (!this.persistent) return;
    this.persistent = false;
    this.deps.notify.note('This browser does not let the app store the hub sync state: the hub works for this tab, and syncs again from the start on the next visit.');
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    this.work = this.work.then(job, job);
    return this.work;
  }

  private whenGalleryLoaded(): Promise<void> {
    const { gallery } = this.deps;
    if (gallery.state.loaded) return Promise.resolve();
    return new Promise((resolve) => {
      const stop = gallery.subscribe((s) => {
        if (!s.loaded) return;
        stop();
        resolve();
      });
    });
  }

  // ---- own events -------------------------------------------------------------------------------------

  /** The fields every own event has: a new id, this device, now. */
  private stamp(): { id: string; device: string; at: number } {
    return { id: newEntryId(), device: this.state.deviceId, at: this.now() };
  }

  private async addEvents(entries: readonly GalleryEntry[]): Promise<HubEvent[]> {
    const events: HubEvent[] = [];
    for (const e of entries) {
      if (this.merge.entry(e.id)?.entry) continue;
      events.push({ kind: 'add', ...this.stamp(), entry: await toHubEntry(e, this.state.cameraName) });
    }
    return events;
  }

  /** The local entries the hub does not know yet (those from before the device joined): shared now. */
  private async shareUntracked(): Promise<void> {
    await this.record(await this.addEvents(this.deps.gallery.state.entries));
  }

  private async onLocalChange(change: GalleryChange): Promise<void> {
    if (!this.secret) return; // not part of a hub: joining shares the gallery as it is then
    let events: HubEvent[] = [];
    if (change.kind === 'added') events = await this.addEvents(change.entries);
    else if (change.kind === 'removed') events = change.ids.filter((id) => this.merge.entry(id)?.deleted === null).map((entryId): HubEvent => ({ kind: 'delete', ...this.stamp(), entryId }));
    else if (this.merge.identityOf(change.id) !== undefined) events = [{ kind: 'rename', ...this.stamp(), entryId: change.id, identity: change.identity }];
    await this.record(events);
  }

  /** Applies own events to the merge state and puts them in the outbox (stored together), then sends them. */
  private async record(events: readonly HubEvent[]): Promise<void> {
    if (events.length === 0) return;
    const items = events.map((event) => ({ order: this.nextOrder++, event }));
    const touched = new Map<string, EntryState>();
    const sightings: HubSighting[] = [];
    for (const event of events) {
      this.merge.apply(event);
      const entryId = event.kind === 'add' ? event.entry.id : event.kind === 'sighting' ? null : event.entryId;
      if (entryId) touched.set(entryId, this.merge.entry(entryId)!);
      if (event.kind === 'sighting') sightings.push(sightingOf(event));
    }
    this.outbox.push(...items);
    const kept = this.addSightings(sightings);
    await this.save({ outboxPut: items, merge: [...touched.values()], sightingsPut: kept.put, sightingsDelete: kept.dropped });
    this.refreshCounts();
    this.push();
  }

  /** Sends what is in the outbox and not on its way, in pushes of bounded count and size. */
  private push(): void {
    if (!this.helloSent || !this.connection.open) return;
    let batch: HubEvent[] = [];
    let bytes = 0;
    const flush = () => {
      if (batch.length === 0) return;
      if (!this.connection.send({ type: 'push', events: batch })) return;
      for (const e of batch) this.inFlight.add(e.id);
      batch = [];
      bytes = 0;
    };
    for (const { event } of this.outbox) {
      if (this.inFlight.has(event.id)) continue;
      const size = JSON.stringify(event).length;
      if (batch.length >= Math.min(HUB.pushEvents, HUB_LIMITS.eventsPerPush) || (batch.length > 0 && bytes + size > HUB.pushBytes)) flush();
      batch.push(event);
      bytes += size;
    }
    flush();
  }

  // ---- the hub's messages -------------------------------------------------------------------------

  private onSocketStatus(s: SocketStatus): void {
    this.helloSent = false;
    this.inFlight.clear();
    if (!this.secret) return;
    // Retries after a loss stay 'offline' (with the reason) until the hub welcomes the device again.
    if (s.kind === 'connecting' && this.state.connection !== 'offline') this.update({ connection: 'connecting' });
    else if (s.kind === 'offline') this.update({ connection: 'offline', problem: s.problem, syncProgress: null });
  }

  private async onMessage(m: ServerMessage): Promise<void> {
    switch (m.type) {
      case 'welcome':
        return this.enqueue(() => this.onWelcome(m.hubId, m.head));
      case 'events':
        return this.enqueue(() => this.onEvents(m.events, m.head));
      case 'ack':
        return this.enqueue(() => this.onAck(m.ids));
      case 'error':
        return this.enqueue(() => this.onError(m.message, m.eventId));
      case 'heartbeat':
        return; // the connection keeps the socket alive on it; nothing to sync
    }
  }

  private async onWelcome(hubId: string, head: number): Promise<void> {
    if (this.hubId !== hubId) {
      if (this.hubId !== undefined) {
        // Another hub (or this one's data was reset): what was known of the old one does not apply.
        this.merge.reset();
        this.since = 0;
        this.sightingIds.clear();
        this.update({ sightings: new Map() });
        await this.save({ resetShared: true });
      }
      this.hubId = hubId;
      await this.save({ hubId });
      await this.shareUntracked();
    }
    if (head < this.since) this.since = head; // the hub lost events it had: take what it has again
    const total = Math.max(0, head - this.since);
    this.helloSent = this.connection.send({ type: 'hello', device: this.state.deviceId, since: this.since });
    this.update({ connection: total > 0 ? 'syncing' : 'connected', problem: null, syncProgress: total > 0 ? { received: 0, total } : null });
    this.push();
  }

  private async onEvents(events: readonly SequencedEvent[], head: number): Promise<void> {
    const added = new Map<string, GalleryEntry>();
    const renamed = new Map<string, string>();
    const removed = new Set<string>();
    const touched = new Map<string, EntryState>();
    const sightings: HubSighting[] = [];
    let unreadable: string | null = null;
    let last = this.since;
    for (const event of events) {
      last = Math.max(last, event.seq);
      const effect = this.merge.apply(event);
      if (event.kind === 'sighting') {
        if (!this.sightingIds.has(event.id)) sightings.push(sightingOf(event));
        continue;
      }
      const entryId = event.kind === 'add' ? event.entry.id : event.entryId;
      const state = this.merge.entry(entryId);
      if (state) touched.set(entryId, state);
      if (effect.kind === 'added' && !effect.deleted) {
        const entry = fromHubEntry(state!.entry!, effect.identity);
        if (typeof entry === 'string') unreadable ??= `${state!.entry!.fileName}: ${entry}`;
        else added.set(entryId, entry);
      } else if (effect.kind === 'renamed') {
        const a = added.get(entryId);
        if (a) added.set(entryId, { ...a, identity: effect.identity });
        else renamed.set(entryId, effect.identity);
      } else if (effect.kind === 'deleted') {
        if (!added.delete(entryId)) removed.add(entryId);
        renamed.delete(entryId);
      }
    }
    if (unreadable) this.deps.notify.error(`An entry from the hub could not be read and was skipped (${unreadable}).`);
    await this.deps.gallery.applyRemote({ added: [...added.values()], renamed: [...renamed].map(([id, identity]) => ({ id, identity })), removed: [...removed] });
    const kept = this.addSightings(sightings);
    // Only now that the page's entries are stored does the device count it as applied.
    this.since = last;
    await this.save({ since: last, merge: [...touched.values()], sightingsPut: kept.put, sightingsDelete: kept.dropped });
    for (const id of added.keys()) this.thumbnailQueue.push(id);
    this.fetchThumbnails();

    const progress = this.state.syncProgress;
    const caughtUp = last >= head;
    this.update({
      connection: this.state.connection === 'syncing' && caughtUp ? 'connected' : this.state.connection,
      syncProgress: progress && !caughtUp ? { received: Math.min(progress.total, progress.received + events.length), total: progress.total } : null,
    });
    this.refreshCounts();
  }

  private async onAck(ids: readonly string[]): Promise<void> {
    const acked = new Set(ids);
    for (const id of ids) this.inFlight.delete(id);
    const before = this.outbox.length;
    this.outbox = this.outbox.filter((i) => !acked.has(i.event.id));
    if (this.outbox.length === before) return;
    await this.save({ outboxDelete: ids });
    this.refreshCounts();
  }

  private async onError(message: string, eventId: string | undefined): Promise<void> {
    const item = eventId === undefined ? undefined : this.outbox.find((i) => i.event.id === eventId);
    if (!item) {
      if (eventId !== undefined) return; // refused before, and already said so
      // The whole push failed at the hub (nothing of it stored): sent again on a new socket.
      this.update({ problem: `The hub could not take this device's changes: ${message}` });
      this.connection.restart();
      return;
    }
    this.inFlight.delete(item.event.id);
    this.outbox = this.outbox.filter((i) => i !== item);
    await this.save({ outboxDelete: [item.event.id] });
    this.refreshCounts();
    this.deps.notify.error(`The hub refused ${describeEvent(item.event)}: ${message}`);
  }

  // ---- sightings and thumbnails ------------------------------------------------------------------

  /** Adds new sightings to the state (newest first, at most HUB.sightingsPerIdentity each); returns what
   * to store and what was dropped. */
  private addSightings(list: readonly HubSighting[]): { put: HubSighting[]; dropped: string[] } {
    const fresh = list.filter((s) => !this.sightingIds.has(s.id));
    if (fresh.length === 0) return { put: [], dropped: [] };
    const sightings = new Map(this.state.sightings);
    const dropped: string[] = [];
    for (const s of fresh) this.sightingIds.add(s.id);
    for (const identity of new Set(fresh.map((s) => s.identity))) {
      const all = [...(sightings.get(identity) ?? []), ...fresh.filter((s) => s.identity === identity)].sort((a, b) => b.at - a.at);
      for (const s of all.slice(HUB.sightingsPerIdentity)) dropped.push(s.id);
      sightings.set(identity, all.slice(0, HUB.sightingsPerIdentity));
    }
    this.update({ sightings });
    this.refreshCounts();
    return { put: fresh.filter((s) => !dropped.includes(s.id)), dropped };
  }

  private queueMissingThumbnails(): void {
    for (const e of this.deps.gallery.state.entries) if (e.thumbnail === null) this.thumbnailQueue.push(e.id);
    this.fetchThumbnails();
  }

  /** The hub's thumbnail of entry `id`; null when the hub has none. Rejects when the hub cannot be asked. */
  private async fetchThumbnail(id: string): Promise<Blob | null> {
    if (!this.secret) return null;
    const res = await this.deps.fetch(hubUrl(this.deps.baseUrl, `${HUB_PATH}thumbnails/${encodeURIComponent(id)}`), { headers: { Authorization: `Bearer ${this.secret}` } });
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`the hub answered ${res.status} for the thumbnail of ${id}`);
    const bytes = await res.arrayBuffer();
    return new Blob([bytes], { type: 'image/jpeg' });
  }

  /** Fetches queued thumbnails, HUB.thumbnailConcurrency at a time, handing them to the gallery in groups. */
  private fetchThumbnails(): void {
    while (this.thumbnailWorkers < HUB.thumbnailConcurrency && this.thumbnailQueue.length > 0) {
      this.thumbnailWorkers++;
      void this.thumbnailWorker().finally(() => this.thumbnailWorkers--);
    }
  }

  private async thumbnailWorker(): Promise<void> {
    const fetched = new Map<string, Blob>();
    const flush = async () => {
      if (fetched.size === 0) return;
      const batch = new Map(fetched);
      fetched.clear();
      await this.deps.gallery.setThumbnails(batch);
    };
    for (let id = this.thumbnailQueue.shift(); id !== undefined && this.secret; id = this.thumbnailQueue.shift()) {
      try {
        const blob = await this.fetchThumbnail(id);
        if (blob) fetched.set(id, blob);
      } catch {
        // The hub went away: the rest waits for the next connection (each start queues what is missing).
        this.thumbnailQueue.length = 0;
        break;
      }
      if (fetched.size >= 16) await flush();
    }
    await flush();
  }

  private refreshCounts(): void {
    this.update({ counts: { entries: this.merge.counts.live, pending: this.outbox.length, sightings: this.sightingIds.size } });
  }
}

function sightingOf(e: Extract<HubEvent, { kind: 'sighting' }>): HubSighting {
  return { id: e.id, identity: e.identity, entryId: e.entryId, cameraName: e.cameraName, device: e.device, at: e.at, distance: e.distance };
}

function describeEvent(e: HubEvent): string {
  switch (e.kind) {
    case 'add':
      return `the gallery entry ${e.entry.fileName} (${e.entry.identity})`;
    case 'rename':
      return `renaming an entry to ${e.identity}`;
    case 'delete':
      return 'deleting an entry';
    case 'sighting':
      return `a sighting of ${e.identity}`;
  }
}

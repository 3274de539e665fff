// A waiting list kept in this browser's storage: what the page has to send, in the order it was made,
// until the server has answered. Each entry has a `key` (a tap's idempotency key, a checklist
// item...); putting an entry with a key already waiting replaces it in place.
//
// Every change re-reads the storage first, so a second tab of the same page is not overwritten;
// `onChange` hears the other tab's changes.
import { read, remove, write } from "./storage.js";

export class WaitingList {
  constructor(name, { onStoreFailed } = {}) {
    this.name = name;
    this.entries = [];
    this.onStoreFailed = onStoreFailed || function () {};
    this.load();
  }

  load() {
    const stored = read(this.name, []);
    if (Array.isArray(stored)) this.entries = stored;
    return this.entries;
  }

  get length() {
    return this.entries.length;
  }

  mutate(change) {
    this.load();
    change(this.entries);
    if (!write(this.name, this.entries)) this.onStoreFailed();
  }

  put(entry) {
    this.mutate((list) => {
      const i = list.findIndex((x) => x.key === entry.key);
      if (i >= 0) list[i] = entry;
      else list.push(entry);
    });
  }

  update(key, change) {
    this.mutate((list) => list.filter((x) => x.key === key).forEach(change));
  }

  remove(key) {
    this.mutate((list) => {
      for (let i = list.length - 1; i >= 0; i--) if (list[i].key === key) list.splice(i, 1);
    });
  }

  // Take over what an earlier release of the page kept under another name (the tablet's taps
  // were kept under "mes.outbox.workstation.N"), once, so an upgrade loses nothing waiting.
  adopt(earlierName) {
    const earlier = read(earlierName, null);
    if (!Array.isArray(earlier)) return;
    this.mutate((list) => {
      earlier.forEach((entry) => {
        if (!list.some((x) => x.key === entry.key)) list.push(entry);
      });
    });
    remove(earlierName);
  }

  // The first waiting entry that `accept` takes (re-read: another tab may have sent some).
  first(accept = () => true) {
    return this.load().find(accept) || null;
  }

  onChange(callback) {
    window.addEventListener("storage", (evt) => {
      if (evt.key === this.name) {
        this.load();
        callback();
      }
    });
  }
}

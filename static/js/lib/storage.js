// This browser's storage for what must survive a reload or a network drop (JSON values).
// Private mode or a full disk make it refuse: `write` then answers false and the caller keeps
// what it has in memory.
export function read(key, fallback = null) {
  try {
    const raw = window.localStorage.getItem(key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch (e) {
    return fallback;
  }
}

export function write(key, value) {
  try {
    if (value === undefined) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, JSON.stringify(value));
    return true;
  } catch (e) {
    return false;
  }
}

export function remove(key) {
  return write(key, undefined);
}

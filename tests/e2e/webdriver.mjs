// A small W3C WebDriver client: just what the end-to-end tests use, on Node's fetch.
// tauri-driver speaks this protocol and forwards it to WebKitWebDriver, which drives the real
// Homeline window.
import { writeFile } from 'node:fs/promises';

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export class WebDriverError extends Error {}

// Every call has a time limit, so a hung app or driver fails the test, naming the call, instead
// of stalling the run until CI's own limit.
const REQUEST_TIMEOUT_MS = 30000;

async function request(base, method, path, body) {
  let res;
  try {
    res = await fetch(base + path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (e) {
    throw new WebDriverError(`${method} ${path}: ${e.name === 'TimeoutError' ? `no answer in ${REQUEST_TIMEOUT_MS} ms` : e.message}`);
  }
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new WebDriverError(`${method} ${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  if (!res.ok || (json.value && json.value.error)) {
    const v = json.value ?? {};
    throw new WebDriverError(`${method} ${path}: ${v.error ?? res.status}: ${v.message ?? text.slice(0, 300)}`);
  }
  return json.value;
}

export class Session {
  static async start(base, application) {
    const value = await request(base, 'POST', '/session', {
      capabilities: { alwaysMatch: { browserName: 'wry', 'tauri:options': { application } } },
    });
    return new Session(base, value.sessionId);
  }

  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  cmd(method, path, body) {
    return request(this.base, method, `/session/${this.id}${path}`, body);
  }

  async end() {
    await this.cmd('DELETE', '');
  }

  title() {
    return this.cmd('GET', '/title');
  }

  /** Finds elements by CSS selector now, without waiting. */
  async findAll(css) {
    const els = await this.cmd('POST', '/elements', { using: 'css selector', value: css });
    return els.map((e) => new Element(this, e[ELEMENT]));
  }

  /** Waits until `css` matches a displayed element, and returns the first such one. */
  async find(css, { timeout = 10000 } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      for (const el of await this.findAll(css)) {
        if (await el.visible()) return el;
      }
      if (Date.now() > deadline) throw new WebDriverError(`no visible element matches ${css} after ${timeout} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits until `css` matches no displayed element. */
  async gone(css, { timeout = 10000 } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      let visible = false;
      for (const el of await this.findAll(css)) visible ||= await el.visible();
      if (!visible) return;
      if (Date.now() > deadline) throw new WebDriverError(`${css} still visible after ${timeout} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits until the first visible `css` element's text satisfies `pred`, returns the text. */
  async waitText(css, pred, { timeout = 10000 } = {}) {
    const deadline = Date.now() + timeout;
    let last = '';
    for (;;) {
      try {
        last = await (await this.find(css, { timeout: 1000 })).text();
        if (pred(last)) return last;
      } catch (e) {
        if (!(e instanceof WebDriverError)) throw e;
      }
      if (Date.now() > deadline) throw new WebDriverError(`text of ${css} never matched; last: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Runs `script` (a function body; `arguments` holds `args`, the last one is the callback to
   * call with the result) in the page and resolves to what it passed to the callback. */
  executeAsync(script, args = []) {
    return this.cmd('POST', '/execute/async', { script, args });
  }

  async screenshot(file) {
    const b64 = await this.cmd('GET', '/screenshot');
    await writeFile(file, Buffer.from(b64, 'base64'));
    return file;
  }

  /** Waits until the `name` attribute of `css` satisfies `pred` (the element may come, go or
   * be replaced meanwhile); returns it, or throws with the last value seen. */
  async attributeBecomes(css, name, pred, timeout = 15000) {
    const deadline = Date.now() + timeout;
    let last = null;
    for (;;) {
      try {
        last = await (await this.find(css, { timeout: 2000 })).attribute(name);
        if (pred(last)) return last;
      } catch {
        // Not there (yet), or replaced while we looked: ask again.
      }
      if (Date.now() > deadline) {
        throw new Error(`${css} [${name}] never matched; last: ${JSON.stringify(last)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export class Element {
  constructor(session, id) {
    this.s = session;
    this.id = id;
  }
  click() {
    return this.s.cmd('POST', `/element/${this.id}/click`, {});
  }
  text() {
    return this.s.cmd('GET', `/element/${this.id}/text`);
  }
  /** A DOM property, e.g. an input's `value` or a checkbox's `checked`. */
  property(name) {
    return this.s.cmd('GET', `/element/${this.id}/property/${name}`);
  }
  displayed() {
    return this.s.cmd('GET', `/element/${this.id}/displayed`);
  }
  /** Like displayed(), but an element the page removed meanwhile counts as not visible: a
   * list re-rendered between finding and asking is not an error. */
  async visible() {
    try {
      return await this.displayed();
    } catch (e) {
      if (e instanceof WebDriverError && /stale element reference|no such element/.test(e.message)) return false;
      throw e;
    }
  }
  attribute(name) {
    return this.s.cmd('GET', `/element/${this.id}/attribute/${name}`);
  }
  property(name) {
    return this.s.cmd('GET', `/element/${this.id}/property/${name}`);
  }
  clear() {
    return this.s.cmd('POST', `/element/${this.id}/clear`, {});
  }
  type(text) {
    return this.s.cmd('POST', `/element/${this.id}/value`, { text });
  }
}

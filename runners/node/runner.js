#!/usr/bin/node
// Swiftlet node runner.
//
// Loads handler.js from $SWIFTLET_FUNCTION_DIR (default /home/app/function)
// once, then serves HTTP/1.1 on 127.0.0.1:$SWIFTLET_RUNNER_PORT (default
// 8080) and calls the handler for every request, warm and in-process.
//
// The handler contract is the one of the OpenFaaS node18 template
// (openfaas/templates, template/node18/index.js), so existing handler files
// run unchanged:
//
//   module.exports = async (event, context) => { ... }
//
//   event:   body, headers, method, query, path
//   context: status(code), headers(obj), succeed(value), fail(err)
//
// Request bodies are parsed the way the template's express + body-parser
// set-up does (JSON for application/json, string for text/*, object for
// application/x-www-form-urlencoded, Buffer for everything when
// RAW_BODY=true), and responses are formatted like express' res.send.
//
// Readiness: when $SWIFTLET_READY_FD names an inherited file descriptor (a
// pipe), the runner writes "ready\n" to it and closes it once it can serve.
//
// Warm (pool) mode, SWIFTLET_WARM=1: the runner starts without function code,
// listens and signals ready; POST /_/specialise with
// {"env": {...}, "functionDir": "..."} then applies the environment and loads
// the handler, after which the runner behaves as if it had been started
// normally with that environment.
//
// Node built-in modules only; the ones needed only in rare cases (zlib, util,
// url, fs) are loaded on first use.

'use strict';

const http = require('http');
const path = require('path');

const PREFIX = 'swiftlet node runner';
const HEALTH_PATH = '/_/health';
const SPECIALISE_PATH = '/_/specialise';
const MAX_SPECIALISE_BODY = 16 * 1024 * 1024;
const KEEP_ALIVE_TIMEOUT_MS = 120 * 1000;
const HEADERS_TIMEOUT_MS = KEEP_ALIVE_TIMEOUT_MS + 5 * 1000;

const inspect = (value) => require('util').inspect(value);

function log(text) {
  // One event, one write (pipes are written synchronously on Linux).
  try {
    process.stderr.write(text.endsWith('\n') ? text : text + '\n');
  } catch (_) {
    // stderr gone: nothing sensible left to do
  }
}

// ---------------------------------------------------------------------------
// Size limits: MAX_JSON_SIZE / MAX_RAW_SIZE are honoured as in the template
// (body-parser syntax: 100kb, 5mb, ...). The template's 100kb default is
// deliberately not applied: unset means no runner-side limit.
// ---------------------------------------------------------------------------

function parseBytes(value) {
  if (value === undefined || value === '') return -1;
  if (/^\d+$/.test(value)) return parseInt(value, 10);
  const m = /^\s*([+-]?\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|pb)\s*$/i.exec(value);
  if (!m) return -1;
  const mult = { b: 1, kb: 1 << 10, mb: 1 << 20, gb: 2 ** 30, tb: 2 ** 40, pb: 2 ** 50 }[m[2].toLowerCase()];
  return Math.floor(parseFloat(m[1]) * mult);
}

// Settings taken from the environment: read at start, and again when a warm
// runner is specialised.
let RAW_BODY = false;
let JSON_LIMIT = -1;
let RAW_LIMIT = -1;

function readSettings() {
  RAW_BODY = process.env.RAW_BODY === 'true';
  JSON_LIMIT = parseBytes(process.env.MAX_JSON_SIZE);
  RAW_LIMIT = parseBytes(process.env.MAX_RAW_SIZE);
}

readSettings();

// ---------------------------------------------------------------------------
// Query strings: express 4's default "extended" query parser is qs.parse;
// this is a dependency-free port of the parts of qs that matter (repeated
// keys -> arrays, a[]=, a[b]=, a[0]=, depth/array limits, '+' as space).
// ---------------------------------------------------------------------------

const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

function qsDecode(s) {
  if (s.indexOf('+') !== -1) s = s.replace(/\+/g, ' ');
  if (s.indexOf('%') === -1) return s;
  try {
    return decodeURIComponent(s);
  } catch (_) {
    return s;
  }
}

function qsCombine(a, b) {
  return [].concat(a, b);
}

function qsArrayToObject(arr) {
  const obj = {};
  for (let i = 0; i < arr.length; i++) if (typeof arr[i] !== 'undefined') obj[i] = arr[i];
  return obj;
}

function qsMerge(target, source) {
  if (!source) return target;
  if (typeof source !== 'object') {
    if (Array.isArray(target)) target.push(source);
    else if (target && typeof target === 'object') {
      if (source !== '__proto__') target[source] = true;
    } else return [target, source];
    return target;
  }
  if (!target || typeof target !== 'object') return [target].concat(source);
  let mergeTarget = target;
  if (Array.isArray(target) && !Array.isArray(source)) mergeTarget = qsArrayToObject(target);
  if (Array.isArray(target) && Array.isArray(source)) {
    source.forEach((item, i) => {
      if (hasOwn(target, i)) {
        const t = target[i];
        if (t && typeof t === 'object' && item && typeof item === 'object') target[i] = qsMerge(t, item);
        else target.push(item);
      } else {
        target[i] = item;
      }
    });
    return target;
  }
  for (const key of Object.keys(source)) {
    if (key === '__proto__') continue;
    mergeTarget[key] = hasOwn(mergeTarget, key) ? qsMerge(mergeTarget[key], source[key]) : source[key];
  }
  return mergeTarget;
}

function qsCompact(value, seen) {
  if (!value || typeof value !== 'object' || seen.has(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) {
    const out = [];
    for (let i = 0; i < value.length; i++) if (typeof value[i] !== 'undefined') out.push(qsCompact(value[i], seen));
    return out;
  }
  for (const k of Object.keys(value)) value[k] = qsCompact(value[k], seen);
  return value;
}

function qsParseObject(chain, val, arrayLimit) {
  let leaf = val;
  for (let i = chain.length - 1; i >= 0; --i) {
    const root = chain[i];
    let obj;
    if (root === '[]') {
      obj = [].concat(leaf);
    } else {
      obj = {};
      const clean = root.charAt(0) === '[' && root.charAt(root.length - 1) === ']' ? root.slice(1, -1) : root;
      const index = parseInt(clean, 10);
      if (!isNaN(index) && root !== clean && String(index) === clean && index >= 0 && index <= arrayLimit) {
        obj = [];
        obj[index] = leaf;
      } else if (clean !== '__proto__') {
        obj[clean] = leaf;
      }
    }
    leaf = obj;
  }
  return leaf;
}

function qsParseKey(key, val, depth, arrayLimit) {
  const brackets = /(\[[^[\]]*])/;
  const child = /(\[[^[\]]*])/g;
  let segment = brackets.exec(key);
  const parent = segment ? key.slice(0, segment.index) : key;
  const keys = [];
  if (parent) keys.push(parent);
  let i = 0;
  while ((segment = child.exec(key)) !== null && i < depth) {
    i += 1;
    keys.push(segment[1]);
  }
  if (segment) keys.push('[' + key.slice(segment.index) + ']');
  return qsParseObject(keys, val, arrayLimit);
}

function parseQuery(str, opts) {
  const out = {};
  if (!str) return out;
  const depth = opts ? opts.depth : 5;
  const arrayLimit = opts ? opts.arrayLimit : 20;
  const flat = Object.create(null);
  let nested = false;
  const parts = str.split('&', 1000);
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p];
    if (!part) continue;
    const bracketEq = part.indexOf(']=');
    const pos = bracketEq === -1 ? part.indexOf('=') : bracketEq + 1;
    let key;
    let val;
    if (pos === -1) {
      key = qsDecode(part);
      val = '';
    } else {
      key = qsDecode(part.slice(0, pos));
      val = qsDecode(part.slice(pos + 1));
    }
    if (!key || key === '__proto__') continue;
    if (!nested && key.indexOf('[') !== -1) nested = true;
    flat[key] = key in flat ? qsCombine(flat[key], val) : val;
  }
  if (!nested) {
    for (const k in flat) out[k] = flat[k];
    return out;
  }
  let obj = out;
  for (const k in flat) obj = qsMerge(obj, qsParseKey(k, flat[k], depth, arrayLimit));
  return qsCompact(obj, new Set());
}

// ---------------------------------------------------------------------------
// Body parsing (template: express + body-parser 1.x)
// ---------------------------------------------------------------------------

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function mediaType(contentType) {
  const i = contentType.indexOf(';');
  return (i === -1 ? contentType : contentType.slice(0, i)).trim().toLowerCase();
}

function charsetOf(contentType) {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType);
  return m ? m[1].toLowerCase() : undefined;
}

// Which body-parser middleware would handle this request: 'json', 'text',
// 'urlencoded', 'raw' (RAW_BODY=true) or 'buffer' (no parser matched).
function parserFor(contentType) {
  if (RAW_BODY) return 'raw';
  const mt = mediaType(contentType);
  if (mt === 'application/json') return 'json';
  if (mt.startsWith('text/') && mt.length > 5 && mt.indexOf('/', 5) === -1) return 'text';
  if (mt === 'application/x-www-form-urlencoded') return 'urlencoded';
  return 'buffer';
}

function inflate(buf, headers) {
  const enc = (headers['content-encoding'] || 'identity').toLowerCase();
  try {
    if (enc === 'identity') return buf;
    if (enc === 'gzip') return require('zlib').gunzipSync(buf);
    if (enc === 'deflate') return require('zlib').inflateSync(buf);
  } catch (e) {
    throw new HttpError(400, 'invalid ' + enc + ' body');
  }
  throw new HttpError(415, 'unsupported content encoding "' + enc + '"');
}

function decodeText(buf, charset) {
  let decoder;
  try {
    decoder = new TextDecoder(charset);
  } catch (_) {
    throw new HttpError(415, 'unsupported charset "' + charset.toUpperCase() + '"');
  }
  return decoder.decode(buf);
}

function parseBody(kind, buf, headers) {
  const contentType = headers['content-type'];
  switch (kind) {
    case 'raw':
      return inflate(buf, headers);
    case 'text':
      return decodeText(inflate(buf, headers), charsetOf(contentType) || 'utf-8');
    case 'json': {
      const charset = charsetOf(contentType) || 'utf-8';
      if (!charset.startsWith('utf-')) throw new HttpError(415, 'unsupported charset "' + charset.toUpperCase() + '"');
      const text = decodeText(inflate(buf, headers), charset);
      if (text.length === 0) return {};
      const first = /^[\x20\x09\x0a\x0d]*(.)/.exec(text);
      if (first && first[1] !== '{' && first[1] !== '[') {
        throw new HttpError(400, 'Unexpected token ' + first[1] + ' in JSON (strict mode accepts only objects and arrays)');
      }
      try {
        return JSON.parse(text);
      } catch (e) {
        throw new HttpError(400, e.message);
      }
    }
    case 'urlencoded': {
      const charset = charsetOf(contentType) || 'utf-8';
      if (charset !== 'utf-8') throw new HttpError(415, 'unsupported charset "' + charset.toUpperCase() + '"');
      const text = decodeText(inflate(buf, headers), 'utf-8');
      return parseQuery(text, { depth: 32, arrayLimit: 100 });
    }
    default:
      return buf;
  }
}

// ---------------------------------------------------------------------------
// Event / context (template: FunctionEvent / FunctionContext)
// ---------------------------------------------------------------------------

class FunctionEvent {
  constructor(body, headers, method, query, path) {
    this.body = body;
    this.headers = headers;
    this.method = method;
    this.query = query;
    this.path = path;
  }
}

class FunctionContext {
  constructor(cb) {
    this.statusCode = 200;
    this.cb = cb;
    this.headerValues = {};
    this.cbCalled = 0;
  }

  status(statusCode) {
    if (!statusCode) return this.statusCode;
    this.statusCode = statusCode;
    return this;
  }

  headers(value) {
    if (!value) return this.headerValues;
    this.headerValues = value;
    return this;
  }

  succeed(value) {
    let err;
    this.cbCalled++;
    this.cb(err, value);
  }

  fail(value) {
    let message;
    if (this.status() == '200') { // eslint-disable-line eqeqeq
      this.status(500);
    }
    this.cbCalled++;
    this.cb(value, message);
  }
}

// ---------------------------------------------------------------------------
// Response formatting (express 4 res.set / res.status / res.send)
// ---------------------------------------------------------------------------

const isArray = (a) => !!a && a.constructor === Array;
const isObject = (a) => !!a && a.constructor === Object;
const MIME_RE = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/;
const CT_HTML = 'text/html; charset=utf-8';
const CT_TEXT = 'text/plain; charset=utf-8';
const CT_JSON = 'application/json; charset=utf-8';
const CT_BIN = 'application/octet-stream';
const DROP_HEADERS = new Set(['content-length', 'transfer-encoding', 'keep-alive']);

// express utils.setCharset: rewrite the charset parameter of a content type.
function setCharset(type) {
  if (type === CT_HTML || type === CT_JSON || type === CT_TEXT) return type;
  const parts = type.split(';');
  const mt = parts[0].trim().toLowerCase();
  if (!MIME_RE.test(mt)) return type;
  const params = {};
  for (let i = 1; i < parts.length; i++) {
    const eq = parts[i].indexOf('=');
    if (eq === -1) continue;
    const k = parts[i].slice(0, eq).trim().toLowerCase();
    if (k) params[k] = parts[i].slice(eq + 1).trim();
  }
  params.charset = 'utf-8';
  return mt + Object.keys(params).sort().map((k) => '; ' + k + '=' + params[k]).join('');
}

// express res.set(field, value) for Content-Type: mime charset for text/*,
// application/json and application/javascript.
function contentTypeValue(value) {
  if (Array.isArray(value)) throw new TypeError('Content-Type cannot be set to an Array');
  value = String(value);
  if (!/;\s*charset\s*=/.test(value)) {
    const base = value.split(';')[0];
    if (/^text\/|^application\/(javascript|json)/.test(base)) value += '; charset=utf-8';
  }
  return value;
}

function toStatusCode(status) {
  const code = Number(status);
  if (!Number.isInteger(code) || code < 100 || code > 999) {
    throw new RangeError('invalid status code: ' + inspect(status));
  }
  return code;
}

// Returns [statusCode, headerPairs, contentType, body(Buffer|string|undefined)].
function formatResponse(status, headerValues, value) {
  let code = toStatusCode(status);
  const pairs = [];
  let ctype;
  if (headerValues && typeof headerValues === 'object') {
    for (const name of Object.keys(headerValues)) {
      const v = headerValues[name];
      const lname = name.toLowerCase();
      if (lname === 'content-type') {
        ctype = contentTypeValue(v);
      } else if (!DROP_HEADERS.has(lname)) {
        pairs.push([name, Array.isArray(v) ? v.map(String) : String(v)]);
      }
    }
  }

  if (isArray(value) || isObject(value)) value = JSON.stringify(value);

  let body;
  switch (typeof value) {
    case 'string':
      body = value;
      if (!ctype) ctype = CT_HTML;
      break;
    case 'undefined':
      body = undefined;
      break;
    case 'number':
      // express 4: res.send(number) sets the status code
      code = toStatusCode(value);
      body = http.STATUS_CODES[code];
      if (!ctype) ctype = CT_TEXT;
      break;
    case 'boolean':
    case 'object':
      if (value === null) {
        body = '';
      } else if (Buffer.isBuffer(value)) {
        body = value;
        if (!ctype) ctype = CT_BIN;
      } else {
        // res.json
        body = JSON.stringify(value);
        if (!ctype) ctype = CT_JSON;
      }
      break;
    default:
      throw new TypeError('handler result of type ' + typeof value + ' cannot be sent');
  }
  if (typeof body === 'string' && ctype) ctype = setCharset(ctype);
  if (code === 204 || code === 304) {
    ctype = undefined;
    body = undefined;
  } else if (code === 205) {
    body = '';
  }
  return [code, pairs, ctype, body];
}

function writeResponse(req, res, code, pairs, ctype, body) {
  res.statusCode = code;
  try {
    for (let i = 0; i < pairs.length; i++) res.setHeader(pairs[i][0], pairs[i][1]);
    if (ctype) res.setHeader('Content-Type', ctype);
  } catch (e) {
    for (const n of res.getHeaderNames()) res.removeHeader(n);
    throw e;
  }
  if (code === 204 || code === 304 || code < 200) {
    res.end();
    return;
  }
  if (body === undefined) {
    res.setHeader('Content-Length', 0);
    res.end();
  } else if (typeof body === 'string') {
    res.setHeader('Content-Length', Buffer.byteLength(body));
    if (req.method === 'HEAD') res.end();
    else res.end(body, 'utf8');
  } else {
    res.setHeader('Content-Length', body.length);
    if (req.method === 'HEAD') res.end();
    else res.end(body);
  }
}

function sendPlain(req, res, code, text, close) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const n of res.getHeaderNames()) res.removeHeader(n);
  res.statusCode = code;
  res.setHeader('Content-Type', CT_TEXT);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  if (close) res.setHeader('Connection', 'close');
  if (req.method === 'HEAD') res.end();
  else res.end(text);
}

function errorName(e) {
  if (e !== null && typeof e === 'object') {
    if (e.constructor && e.constructor.name && e.constructor.name !== 'Object') return e.constructor.name;
    if (typeof e.name === 'string' && e.name) return e.name;
    return 'Object';
  }
  return typeof e;
}

function describe(e) {
  if (e instanceof Error && e.stack) return e.stack;
  return inspect(e);
}

// ---------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------

let handler;

function invoke(req, res, body, pathname, search) {
  const method = req.method;
  const target = search ? pathname + '?' + search : pathname;
  const event = new FunctionEvent(body, req.headers, method, parseQuery(search), pathname);
  let responded = false;

  const cb = (err, result) => {
    if (responded) return;
    responded = true;
    let code;
    let headerValues;
    let value;
    if (err) {
      // template: console.error(err); res.status(ctx.status()).send(err.toString())
      log(PREFIX + ': ' + method + ' ' + target + ': context.fail: ' + describe(err));
      code = ctx.status();
      headerValues = undefined;
      value = err.toString ? err.toString() : err;
    } else {
      code = ctx.status();
      headerValues = ctx.headers();
      value = result;
    }
    let formatted;
    try {
      formatted = formatResponse(code, headerValues, value);
    } catch (e) {
      log(PREFIX + ': ' + method + ' ' + target + ': handler returned an invalid response: ' + describe(e));
      sendPlain(req, res, 500, 'Internal Server Error: handler returned an invalid response', false);
      return;
    }
    try {
      writeResponse(req, res, formatted[0], formatted[1], formatted[2], formatted[3]);
    } catch (e) {
      log(PREFIX + ': ' + method + ' ' + target + ': handler returned an invalid response: ' + describe(e));
      sendPlain(req, res, 500, 'Internal Server Error: handler returned an invalid response', false);
    }
  };

  const ctx = new FunctionContext(cb);

  const onThrow = (e) => {
    log(PREFIX + ': ' + method + ' ' + target + ': handler raised ' + errorName(e) + '\n' + describe(e));
    if (responded) return;
    responded = true;
    sendPlain(req, res, 500, 'Internal Server Error: handler raised ' + errorName(e), false);
  };

  // Node-style callback, passed as the third argument like the template.
  const callback = (err, result) => (err ? ctx.fail(err) : ctx.succeed(result));

  let ret;
  try {
    ret = handler(event, ctx, callback);
  } catch (e) {
    onThrow(e);
    return;
  }
  if (ret !== null && (typeof ret === 'object' || typeof ret === 'function') && typeof ret.then === 'function') {
    Promise.resolve(ret).then((value) => {
      if (!ctx.cbCalled) ctx.succeed(value);
    }, onThrow);
  } else if (!ctx.cbCalled) {
    ctx.succeed(ret);
  }
}

function onRequest(req, res) {
  const url = req.url;
  const q = url.indexOf('?');
  let pathname = q === -1 ? url : url.slice(0, q);
  let search = q === -1 ? '' : url.slice(q + 1);
  if (pathname.charCodeAt(0) !== 47 /* '/' */) {
    try {
      const u = new URL(url);
      pathname = u.pathname;
      search = u.search.slice(1);
    } catch (_) {
      // '*' or garbage: hand it over as is
    }
  }

  const method = req.method;
  if (pathname === HEALTH_PATH && (method === 'GET' || method === 'HEAD')) {
    res.writeHead(200, { 'Content-Type': CT_TEXT, 'Content-Length': 2 });
    if (method === 'HEAD') res.end();
    else res.end('OK');
    return;
  }

  if (warm !== null) {
    if (pathname === SPECIALISE_PATH && method === 'POST') {
      specialise(req, res);
      return;
    }
    if (!handler) {
      sendPlain(req, res, 503, 'instance not specialised yet', false);
      return;
    }
  }

  const headers = req.headers;
  // template: a missing content type defaults to text/plain
  if (!headers['content-type']) headers['content-type'] = 'text/plain';

  // type-is hasBody(): a transfer-encoding or a numeric content-length
  if (headers['transfer-encoding'] === undefined && isNaN(headers['content-length'])) {
    invoke(req, res, {}, pathname, search);
    return;
  }

  const kind = parserFor(headers['content-type']);
  const limit = kind === 'json' ? JSON_LIMIT : kind === 'raw' ? RAW_LIMIT : -1;
  const chunks = [];
  let size = 0;
  let rejected = false;

  if (limit >= 0 && Number(headers['content-length']) > limit) {
    rejected = true;
    sendPlain(req, res, 413, 'Payload Too Large', true);
    req.resume();
    return;
  }

  req.on('data', (chunk) => {
    if (rejected) return;
    size += chunk.length;
    if (limit >= 0 && size > limit) {
      rejected = true;
      chunks.length = 0;
      sendPlain(req, res, 413, 'Payload Too Large', true);
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (rejected) return;
    const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
    chunks.length = 0;
    let body;
    try {
      body = parseBody(kind, buf, headers);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 400;
      sendPlain(req, res, status, (http.STATUS_CODES[status] || 'Error') + ': ' + e.message, false);
      return;
    }
    invoke(req, res, body, pathname, search);
  });
  req.on('error', () => {
    // client went away mid-body; the socket is already being torn down
  });
}

// ---------------------------------------------------------------------------
// Startup
// ---------------------------------------------------------------------------

async function loadHandler(functionDir) {
  let resolved;
  try {
    resolved = require.resolve(path.join(functionDir, 'handler'));
  } catch (e) {
    if (e && e.code === 'MODULE_NOT_FOUND') {
      throw new Error('handler file not found: ' + path.join(functionDir, 'handler.js'));
    }
    throw e;
  }
  let mod;
  try {
    mod = require(resolved);
  } catch (e) {
    if (!e || e.code !== 'ERR_REQUIRE_ESM') throw e;
    mod = await import(require('url').pathToFileURL(resolved).href);
  }
  if (typeof mod !== 'function' && mod && typeof mod.default === 'function') mod = mod.default;
  if (typeof mod !== 'function') {
    throw new TypeError(resolved + ' does not export a function (expected module.exports = async (event, context) => { ... })');
  }
  return mod;
}

// The message of an error, or whatever was thrown, as a string.
function messageOf(e) {
  try {
    return e && e.message ? String(e.message) : String(e);
  } catch (_) {
    return inspect(e); // e.g. an object without a prototype
  }
}

function logLoadFailure(functionDir, e) {
  const name = errorName(e);
  const message = messageOf(e);
  log(PREFIX + ': failed to load handler from ' + functionDir + ': ' + name + ': ' + message + '\n' + describe(e));
}

function onUnhandledRejection(reason) {
  log(PREFIX + ': unhandled promise rejection in handler: ' + describe(reason));
}

// ---------------------------------------------------------------------------
// Readiness signal ($SWIFTLET_READY_FD)
// ---------------------------------------------------------------------------

// The descriptor named by $SWIFTLET_READY_FD, or -1. The variable is removed
// from the environment either way, so the handler never sees it.
function takeReadyFd() {
  const text = process.env.SWIFTLET_READY_FD;
  delete process.env.SWIFTLET_READY_FD;
  if (!text || !/^\d{1,9}$/.test(text)) return -1;
  const fd = parseInt(text, 10);
  const fs = require('fs');
  let st;
  try {
    st = fs.fstatSync(fd);
  } catch (_) {
    return -1; // not an open descriptor
  }
  if (fd <= 2) return fd; // stdio: the runner's own
  if (st.isFile()) return fd;
  if (!st.isFIFO() && !st.isSocket()) return -1; // epoll, eventfd, devices: node's own
  // A pipe or socket the runner inherited has its other end outside the
  // process; node's internal pipes have both ends here.
  const self = 'pipe:[' + st.ino + ']';
  const sock = 'socket:[' + st.ino + ']';
  try {
    for (const name of fs.readdirSync('/proc/self/fd')) {
      if (name === String(fd)) continue;
      let link;
      try {
        link = fs.readlinkSync('/proc/self/fd/' + name);
      } catch (_) {
        continue;
      }
      if (link === self || link === sock) return -1;
    }
  } catch (_) {
    // no /proc: trust the number
  }
  return fd;
}

// Writes "ready\n" to the ready descriptor and closes it; never throws.
function signalReady(fd) {
  if (fd < 0) return;
  const fs = require('fs');
  try {
    const data = Buffer.from('ready\n');
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off);
  } catch (_) {
    // EBADF, EPIPE, EAGAIN ...: the platform falls back to probing
  }
  try {
    if (fd === 0) {
      // stdin: reopen it on /dev/null rather than leave fd 0 free for the
      // next open().
      fs.closeSync(0);
      const nul = fs.openSync('/dev/null', 'r');
      if (nul !== 0) fs.closeSync(nul);
    } else if (fd > 2) {
      fs.closeSync(fd);
    }
    // fd 1 or 2 are the log streams: written to, but left open.
  } catch (_) {
    // already closed
  }
}

// ---------------------------------------------------------------------------
// Warm (pool) mode
// ---------------------------------------------------------------------------

// { port, busy, done } for a runner started with SWIFTLET_WARM=1, else null.
let warm = null;

class SpecialiseError extends Error {}

// No lone surrogates (they cannot be put into the environment faithfully).
const wellFormed = (s) => (typeof s.isWellFormed === 'function' ? s.isWellFormed()
  : !/[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/.test(s));

// Body of POST /_/specialise -> { env, functionDir } (pythonPath is ignored).
function parseSpecialise(buf) {
  let doc;
  try {
    doc = JSON.parse(buf.toString('utf8'));
  } catch (_) {
    throw new SpecialiseError('body is not valid JSON');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new SpecialiseError('body must be a JSON object');
  }
  let env = doc.env;
  if (env === undefined || env === null) {
    env = {};
  } else if (typeof env !== 'object' || Array.isArray(env)) {
    throw new SpecialiseError('"env" must be an object of strings');
  }
  for (const key of Object.keys(env)) {
    const value = env[key];
    if (typeof value !== 'string') {
      throw new SpecialiseError('"env" value of ' + JSON.stringify(key.slice(0, 200)) + ' is not a string');
    }
    if (!key || key.includes('=') || key.includes('\0') || value.includes('\0')
        || !wellFormed(key) || !wellFormed(value)) {
      throw new SpecialiseError('invalid environment variable ' + JSON.stringify(key.slice(0, 200)));
    }
  }
  const functionDir = doc.functionDir;
  if (functionDir !== undefined && functionDir !== null
      && (typeof functionDir !== 'string' || !functionDir || functionDir.includes('\0'))) {
    throw new SpecialiseError('"functionDir" must be a non-empty string');
  }
  return { env, functionDir: functionDir || undefined };
}

// Makes the process look as if it had been started with `env`; returns the
// function directory to load the handler from.
function applyEnvironment(env, functionDir) {
  for (const key of Object.keys(env)) process.env[key] = env[key];
  delete process.env.SWIFTLET_WARM;
  delete process.env.SWIFTLET_READY_FD;
  readSettings();
  // The CommonJS loader reads NODE_PATH and HOME at start (TZ is picked up by
  // node itself when process.env.TZ is set).
  const Module = require('module');
  if (typeof Module._initPaths === 'function') Module._initPaths();
  try {
    // A directory mounted over the working directory since the start (the
    // function's code) only shows through a fresh chdir.
    process.chdir(process.cwd());
  } catch (_) {
    // working directory gone: keep it
  }
  return path.resolve(functionDir || process.env.SWIFTLET_FUNCTION_DIR || '/home/app/function');
}

function specialise(req, res) {
  if (warm.done || warm.busy) {
    sendPlain(req, res, 409, warm.done ? 'already specialised' : 'specialisation in progress', false);
    return;
  }
  warm.busy = true; // taken before the body is read: concurrent requests get 409
  const chunks = [];
  let size = 0;
  let ended = false;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size <= MAX_SPECIALISE_BODY) chunks.push(chunk);
  });
  req.on('end', () => {
    ended = true;
    if (size > MAX_SPECIALISE_BODY) {
      warm.busy = false;
      sendPlain(req, res, 413, 'Payload Too Large', true);
      return;
    }
    finishSpecialise(req, res, Buffer.concat(chunks, size)).catch((e) => {
      log(PREFIX + ': specialisation failed: ' + describe(e));
      warm.busy = false;
      sendPlain(req, res, 500, 'Internal Server Error', true);
    });
  });
  req.on('close', () => {
    if (!ended) warm.busy = false; // client went away mid-body
  });
  req.on('error', () => {});
}

async function finishSpecialise(req, res, buf) {
  let request;
  try {
    request = parseSpecialise(buf);
  } catch (e) {
    if (!(e instanceof SpecialiseError)) throw e;
    warm.busy = false;
    sendPlain(req, res, 400, 'bad specialise request: ' + e.message, false);
    return;
  }
  let functionDir = request.functionDir || '?';
  let loaded;
  try {
    functionDir = applyEnvironment(request.env, request.functionDir);
    loaded = await loadHandler(functionDir);
  } catch (e) {
    logLoadFailure(functionDir, e);
    failSpecialise(req, res, e);
    return;
  }
  handler = loaded;
  process.on('unhandledRejection', onUnhandledRejection);
  warm.done = true;
  warm.busy = false;
  log(PREFIX + ': handler loaded from ' + functionDir + ', listening on 127.0.0.1:' + warm.port);
  const body = '{"status":"ready"}';
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
}

// Answers 500 and exits with code 3 once the answer is out.
function failSpecialise(req, res, e) {
  const message = (errorName(e) + ': ' + messageOf(e)).split(/\s+/).join(' ').trim().slice(0, 1000);
  const exit = () => process.exit(3);
  res.on('finish', exit);
  res.on('close', exit);
  setTimeout(exit, 2000);
  sendPlain(req, res, 500, 'failed to load handler: ' + message, true);
}

// Warm mode: load now what normal mode loads on first use, including the ES
// module loader (a first import() sets it up), for an ESM handler.
async function preload() {
  require('fs');
  require('module');
  require('url');
  require('util');
  require('zlib');
  try {
    await import('node:path');
  } catch (_) {
    // only a warm-up
  }
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

async function main() {
  const readyFd = takeReadyFd();
  const isWarm = process.env.SWIFTLET_WARM === '1';
  const functionDir = path.resolve(process.env.SWIFTLET_FUNCTION_DIR || '/home/app/function');
  const portText = process.env.SWIFTLET_RUNNER_PORT || '8080';
  const port = /^\d+$/.test(portText) ? parseInt(portText, 10) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    log(PREFIX + ': invalid SWIFTLET_RUNNER_PORT ' + JSON.stringify(portText));
    process.exit(2);
  }

  const exit = () => process.exit(0);
  process.on('SIGTERM', exit);
  process.on('SIGINT', exit);

  if (isWarm) {
    await preload();
    warm = { port, busy: false, done: false };
  } else {
    try {
      handler = await loadHandler(functionDir);
    } catch (e) {
      logLoadFailure(functionDir, e);
      process.exit(3);
    }
    process.on('unhandledRejection', onUnhandledRejection);
  }

  const server = http.createServer({ noDelay: true, maxHeaderSize: 64 * 1024 }, onRequest);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = 0; // large uploads may take their time; the platform enforces deadlines
  server.on('error', (e) => {
    log(PREFIX + ': cannot listen on 127.0.0.1:' + port + ': ' + e.message);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', 1024, () => {
    const bound = server.address().port;
    if (isWarm) {
      warm.port = bound;
      log(PREFIX + ': warm, listening on 127.0.0.1:' + bound);
    } else {
      log(PREFIX + ': handler loaded from ' + functionDir + ', listening on 127.0.0.1:' + bound);
    }
    signalReady(readyFd);
  });
}

main();

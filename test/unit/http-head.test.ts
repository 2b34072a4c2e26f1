import { ChunkedBody, parseRequestHead } from '../../src/core/http-head';

const head = (...lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;

describe('parseRequestHead', () => {
  it('reads the Host and sets X-Forwarded-* after the headers as sent, appending to a prior X-Forwarded-For', () => {
    const parsed = parseRequestHead(head('GET /a?b=1 HTTP/1.1', 'Host: Web.X.localhost:7355', 'x-forwarded-for: 10.0.0.1', 'X-Forwarded-Host: evil', 'X-Forwarded-Proto: https', 'Accept: */*'), '127.0.0.1');
    expect(parsed).toEqual({
      host: 'Web.X.localhost:7355',
      framing: { kind: 'none' },
      forwarded: head('GET /a?b=1 HTTP/1.1', 'Host: Web.X.localhost:7355', 'Accept: */*', 'X-Forwarded-For: 10.0.0.1, 127.0.0.1', 'X-Forwarded-Host: Web.X.localhost:7355', 'X-Forwarded-Proto: http'),
    });
  });

  it('tells the body framing: none, a length, chunked, an upgrade', () => {
    expect(parseRequestHead(head('POST / HTTP/1.1', 'Host: a', 'Content-Length: 0'), '::1')?.framing).toEqual({ kind: 'none' });
    expect(parseRequestHead(head('POST / HTTP/1.1', 'Host: a', 'content-length: 12'), '::1')?.framing).toEqual({ kind: 'length', bytes: 12 });
    expect(parseRequestHead(head('POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: gzip, chunked'), '::1')?.framing).toEqual({ kind: 'chunked' });
    expect(parseRequestHead(head('GET /ws HTTP/1.1', 'Host: a', 'Connection: keep-alive, Upgrade', 'Upgrade: websocket'), '::1')?.framing).toEqual({ kind: 'upgrade' });
    expect(parseRequestHead(head('GET / HTTP/1.1', 'Host: a', 'Upgrade: websocket'), '::1')?.framing).toEqual({ kind: 'none' });
  });

  it.each([
    ['two Hosts', head('GET / HTTP/1.1', 'Host: a', 'Host: b')],
    ['two Content-Lengths', head('POST / HTTP/1.1', 'Host: a', 'Content-Length: 1', 'Content-Length: 1')],
    ['Content-Length with Transfer-Encoding', head('POST / HTTP/1.1', 'Host: a', 'Content-Length: 1', 'Transfer-Encoding: chunked')],
    ['a last coding other than chunked', head('POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked, gzip')],
    ['a Content-Length that is not a number', head('POST / HTTP/1.1', 'Host: a', 'Content-Length: 1e3')],
    ['a folded header', head('GET / HTTP/1.1', 'Host: a', 'X-A: 1', ' folded')],
    ['a space before the colon', head('GET / HTTP/1.1', 'Host : a')],
    ['a bare LF inside', head('GET / HTTP/1.1', 'Host: a\nX-B: 2')],
    ['CONNECT', head('CONNECT a:443 HTTP/1.1', 'Host: a:443')],
    ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\n'],
    ['a body with an upgrade', head('POST / HTTP/1.1', 'Host: a', 'Content-Length: 3', 'Connection: upgrade', 'Upgrade: x')],
  ])('leaves %s to the full parser (null)', (_what, text) => {
    expect(parseRequestHead(text, '127.0.0.1')).toBeNull();
  });
});

describe('ChunkedBody', () => {
  const body = Buffer.from('4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: yes\r\n\r\nGET /next');
  const end = body.indexOf('GET /next');

  it('finds the end of a chunked body with extensions and trailers, in one piece', () => {
    expect(new ChunkedBody().scan(body, 0)).toBe(end);
  });

  it('finds the same end however the bytes are split', () => {
    for (let cut = 1; cut < end; cut++) {
      const scanner = new ChunkedBody();
      expect([cut, scanner.scan(body.subarray(0, cut), 0)]).toEqual([cut, -1]);
      expect([cut, scanner.scan(body, cut)]).toEqual([cut, end]);
    }
  });

  it('reads byte by byte, and starts over for the next body', () => {
    const scanner = new ChunkedBody();
    let found = -1;
    for (let i = 0; i < body.length && found === -1; i++) found = scanner.scan(body.subarray(0, i + 1), i);
    expect(found).toBe(end);
    expect(scanner.scan(Buffer.from('0\r\n\r\n'), 0)).toBe(5);
  });

  it.each([
    ['a size that is not hex', 'zz\r\n'],
    ['a missing size', '\r\n'],
    ['data longer than its size', '2\r\nabc\r\n'],
    ['a bare LF after the size', '2\nab\r\n'],
    ['a size too large to be real', '1234567890abcd\r\n'],
  ])('says %s is not chunked framing (-2)', (_what, text) => {
    expect(new ChunkedBody().scan(Buffer.from(text), 0)).toBe(-2);
  });
});

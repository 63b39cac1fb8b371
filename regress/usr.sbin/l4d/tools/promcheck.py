#!/usr/bin/env python3
"""Check a Prometheus text exposition (format 0.0.4) and the values in it.

    promcheck.py FILE [ASSERTION ...]

FILE is the text ("-": stdin), or an HTTP answer with --http (status
line, headers, blank line, body: the headers are checked too).  The
format is checked strictly: metric and label names, label value escapes
(only \\\\, \\" and \\n), values, one HELP and one TYPE line per family,
before its samples, the samples of a family together, no sample twice,
counters named *_total.

An ASSERTION is NAME{LABEL="VALUE",...}OP NUMBER with OP one of = >= <=
>, the label set exactly that of one sample (NAME alone: no labels).
"sum:NAME{LABEL="VALUE"}=N" sums every sample of NAME whose labels
include the given ones.  Exit status 0 if everything holds, 1 otherwise,
with a message naming the first thing that did not.
"""

import re
import sys

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
LABEL = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*')
VALUE = re.compile(r'^(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)'
                   r'(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN)$')
TYPES = ('counter', 'gauge', 'histogram', 'summary', 'untyped')


class Bad(Exception):
    pass


def parse_labels(s, pos, lineno):
    """Labels from s[pos] == '{'; returns (tuple of pairs, next pos)."""
    labels = []
    pos += 1
    while True:
        if pos < len(s) and s[pos] == '}':
            return tuple(labels), pos + 1
        m = LABEL.match(s, pos)
        if not m:
            raise Bad('line %d: bad label name at column %d' %
                      (lineno, pos + 1))
        name = m.group(0)
        pos = m.end()
        if s[pos:pos + 2] != '="':
            raise Bad('line %d: label %s: expected ="' % (lineno, name))
        pos += 2
        val = []
        while True:
            if pos >= len(s):
                raise Bad('line %d: unterminated label value' % lineno)
            c = s[pos]
            if c == '\\':
                nxt = s[pos + 1:pos + 2]
                if nxt == '\\':
                    val.append('\\')
                elif nxt == '"':
                    val.append('"')
                elif nxt == 'n':
                    val.append('\n')
                else:
                    raise Bad('line %d: bad escape \\%s in label %s' %
                              (lineno, nxt, name))
                pos += 2
            elif c == '"':
                pos += 1
                break
            elif c == '\n':
                raise Bad('line %d: newline in label value' % lineno)
            else:
                val.append(c)
                pos += 1
        if name in [k for k, _ in labels]:
            raise Bad('line %d: label %s twice' % (lineno, name))
        labels.append((name, ''.join(val)))
        if pos < len(s) and s[pos] == ',':
            pos += 1
        elif pos < len(s) and s[pos] == '}':
            continue
        else:
            raise Bad('line %d: expected , or } after label %s' %
                      (lineno, name))


def family_of(name, types):
    if name in types:
        return name
    for suf in ('_bucket', '_sum', '_count'):
        if name.endswith(suf) and name[:-len(suf)] in types and \
                types[name[:-len(suf)]] in ('histogram', 'summary'):
            return name[:-len(suf)]
    return name


def parse(text):
    """Samples {(name, labels): float}; raises Bad."""
    if text and not text.endswith('\n'):
        raise Bad('the text does not end with a newline')
    helps, types, samples = {}, {}, {}
    done = set()        # families whose samples are over
    current = None
    for lineno, line in enumerate(text.split('\n')[:-1], 1):
        if line == '':
            continue
        if line.startswith('#'):
            parts = line.split(' ', 3)
            if len(parts) >= 3 and parts[1] in ('HELP', 'TYPE'):
                name = parts[2]
                if not NAME.fullmatch(name):
                    raise Bad('line %d: bad metric name %r' % (lineno, name))
                rest = parts[3] if len(parts) > 3 else ''
                if parts[1] == 'HELP':
                    if name in helps:
                        raise Bad('line %d: second HELP for %s' %
                                  (lineno, name))
                    if re.search(r'\\[^\\n]', rest):
                        raise Bad('line %d: bad escape in HELP' % lineno)
                    helps[name] = rest
                else:
                    if name in types:
                        raise Bad('line %d: second TYPE for %s' %
                                  (lineno, name))
                    if rest not in TYPES:
                        raise Bad('line %d: bad type %r' % (lineno, rest))
                    if any(family_of(n, {name: rest}) == name
                           for n, _ in samples):
                        raise Bad('line %d: TYPE of %s after its samples' %
                                  (lineno, name))
                    types[name] = rest
            continue
        m = NAME.match(line)
        if not m:
            raise Bad('line %d: bad metric name' % lineno)
        name = m.group(0)
        pos = m.end()
        labels = ()
        if pos < len(line) and line[pos] == '{':
            labels, pos = parse_labels(line, pos, lineno)
        if pos >= len(line) or line[pos] != ' ':
            raise Bad('line %d: expected a space before the value' % lineno)
        fields = line[pos + 1:].split(' ')
        if len(fields) not in (1, 2) or not VALUE.match(fields[0]):
            raise Bad('line %d: bad value %r' % (lineno, line[pos + 1:]))
        if len(fields) == 2 and not re.fullmatch(r'-?[0-9]+', fields[1]):
            raise Bad('line %d: bad timestamp' % lineno)
        fam = family_of(name, types)
        if fam != current:
            if fam in done:
                raise Bad('line %d: samples of %s are not together' %
                          (lineno, fam))
            if current is not None:
                done.add(current)
            current = fam
        if fam not in types:
            raise Bad('line %d: %s has no TYPE line' % (lineno, fam))
        if fam not in helps:
            raise Bad('line %d: %s has no HELP line' % (lineno, fam))
        if types[fam] == 'counter' and not fam.endswith('_total'):
            raise Bad('line %d: counter %s is not named *_total' %
                      (lineno, fam))
        key = (name, tuple(sorted(labels)))
        if key in samples:
            raise Bad('line %d: sample %s%s twice' % (lineno, name,
                                                     dict(labels)))
        v = float(fields[0].replace('Inf', 'inf').replace('NaN', 'nan'))
        if types[fam] == 'counter' and v < 0:
            raise Bad('line %d: negative counter' % lineno)
        samples[key] = v
    return samples


ASSERT = re.compile(r'^(sum:)?([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?'
                    r'(>=|<=|=|>)([-+0-9.eE]+)$')


def check(samples, a):
    m = ASSERT.match(a)
    if not m:
        raise Bad('cannot read the assertion %r' % a)
    summing, name, lab, op, want = m.groups()
    labels = ()
    if lab:
        labels, end = parse_labels(lab, 0, 0)
        if end != len(lab):
            raise Bad('cannot read the labels of %r' % a)
    want = float(want)
    if summing:
        got = sum(v for (n, ls), v in samples.items()
                  if n == name and set(labels) <= set(ls))
    else:
        key = (name, tuple(sorted(labels)))
        if key not in samples:
            raise Bad('no sample %s' % a.split(op)[0])
        got = samples[key]
    ok = {'=': got == want, '>=': got >= want, '<=': got <= want,
          '>': got > want}[op]
    if not ok:
        raise Bad('%s: the value is %g' % (a, got))


def split_http(data):
    head, sep, body = data.partition('\r\n\r\n')
    if not sep:
        raise Bad('no end of the HTTP head')
    lines = head.split('\r\n')
    if not re.fullmatch(r'HTTP/1\.1 200 OK', lines[0]):
        raise Bad('status line %r' % lines[0])
    hdrs = {}
    for h in lines[1:]:
        k, _, v = h.partition(':')
        hdrs[k.strip().lower()] = v.strip()
    if not hdrs.get('content-type', '').startswith('text/plain; '
                                                    'version=0.0.4'):
        raise Bad('Content-Type %r' % hdrs.get('content-type'))
    if hdrs.get('connection') != 'close':
        raise Bad('no Connection: close')
    if int(hdrs.get('content-length', -1)) != len(body.encode()):
        raise Bad('Content-Length %s, body %d bytes' %
                  (hdrs.get('content-length'), len(body.encode())))
    return body


def main():
    args = sys.argv[1:]
    http = False
    if args and args[0] == '--http':
        http = True
        args = args[1:]
    if not args:
        sys.exit(__doc__)
    f = sys.stdin if args[0] == '-' else open(args[0], newline='')
    text = f.read()
    try:
        if http:
            text = split_http(text)
        samples = parse(text)
        for a in args[1:]:
            check(samples, a)
    except Bad as e:
        sys.exit('promcheck: %s' % e)


if __name__ == '__main__':
    main()

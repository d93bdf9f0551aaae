"""Fixture for tests/decode/test_bleu.c: sacreBLEU's corpus BLEU and chrF on
perturbed copies of Multi30k sentences and on lines made to exercise the
13a tokenizer, written to tests/golden/bleu.json.

Run by hand from the repository root with sacreBLEU 2.x importable:
    python3 tests/golden/gen_bleu.py
The hypotheses and references are stored in the fixture, so the C test
needs neither sacreBLEU nor the shared data.

The committed bleu.json was made where PyPI could not be reached: with a
local stand-in for the sacrebleu package (not in this repository) whose
BLEU, CHRF and 13a tokenizer are sacreBLEU 2.x's own functions transcribed
statement for statement from its sources; the fixture's "sacrebleu" field
says "2.x-transcribed". Regenerate it with the real package when it can be
installed (pip install sacrebleu): the numbers should not change.
"""
import json
import os
import random
import sys

import sacrebleu
from sacrebleu.metrics import BLEU, CHRF

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.environ.get('SEQC_TEST_DATA', os.path.join(ROOT, '..', 'shared', 'data'))


def read_lines(name, n):
    with open(os.path.join(DATA, name), encoding='utf-8', newline='\n') as f:
        return f.read().split('\n')[:n]


def perturb(lines, seed, vocab):
    """Word drops, swaps, substitutions, case flips, punctuation and
    truncation, and a few empty lines: every n-gram order partly matched."""
    rng = random.Random(seed)
    out = []
    for line in lines:
        words = line.split()
        if rng.random() < 0.03:
            out.append('')
            continue
        res = []
        for w in words:
            r = rng.random()
            if r < 0.08:
                continue
            if r < 0.16:
                w = rng.choice(vocab)
            elif r < 0.20:
                w = w.lower() if w[:1].isupper() else w.capitalize()
            elif r < 0.22:
                w = w + rng.choice([',', '.', ' -', '!', '"'])
            res.append(w)
        for i in range(len(res) - 1):
            if rng.random() < 0.05:
                res[i], res[i + 1] = res[i + 1], res[i]
        if rng.random() < 0.1:
            res = res[:max(1, len(res) // 2)]
        out.append(' '.join(res))
    return out


# Lines for the tokenizer: punctuation, numbers, dashes, quotes, entities,
# non-ASCII, Unicode white space; each also a hypothesis against a variant.
TRICKY = [
    'He said "5,000.00 dollars" -- for 1-2 items, e.g. (this one).',
    'Preis: 3.5 Mio. EUR; 1,5 % mehr als 2019-2020!',
    'A&amp;B &quot;quoted&quot; &lt;tag&gt; <skipped> end.',
    "Don't stop: it's 10:30 a.m. on 2024/05/06...",
    'Straße\u00a0über  Brücke\u2009— „Zitat“ «guillemets» café.',
    'x.y,z 1.2.3 a,b ,lead .lead trail, trail. 7- -7 a-b',
    'İstanbul ΑΘΗΝΑ Ärger ÉCOLE',
    '[brackets] {braces} |pipe| ~tilde~ `tick` ^caret^ _under_ \\back\\',
    '中文句子，还有标点。 😀 emoji',
    '',
]
TRICKY_REFS = [
    'He said "5,000 dollars" -- for 1-2 items, e.g. (this one)!',
    'Preis: 3.5 Mio. EUR; 1,5 % mehr als 2019 - 2020.',
    'A&B "quoted" <tag> end.',
    "Don't stop: it is 10:30 a.m. on 2024/05/06.",
    'Strasse über Brücke — "Zitat" «guillemets» cafe.',
    'x.y,z 1.2.3 a, b ,lead .lead trail , trail . 7 - -7 a-b',
    'istanbul αθηνα ärger école',
    '[brackets] {braces} |pipe| ~tilde~ `tick` ^caret^ _under_ \\back\\',
    '中文句子，还有标点。 emoji',
    'an empty hypothesis',
]


def bleu_case(hyps, refs, **kw):
    s = BLEU(**kw).corpus_score(hyps, refs)
    return {'score': s.score, 'counts': list(s.counts), 'totals': list(s.totals),
            'precisions': list(s.precisions), 'bp': s.bp, 'sys_len': s.sys_len,
            'ref_len': s.ref_len}


def chrf_case(hyps, refs, **kw):
    return CHRF(**kw).corpus_score(hyps, refs).score


def case(name, hyps, refs):
    return {
        'name': name, 'hyps': hyps, 'refs': refs,
        'bleu': bleu_case(hyps, refs),
        'bleu_lc': bleu_case(hyps, refs, lowercase=True),
        'bleu_none': bleu_case(hyps, refs, smooth_method='none'),
        'bleu_floor': bleu_case(hyps, refs, smooth_method='floor'),
        'bleu_addk': bleu_case(hyps, refs, smooth_method='add-k'),
        'chrf': chrf_case(hyps, refs),
        'chrf_lc': chrf_case(hyps, refs, lowercase=True),
        'chrfpp': chrf_case(hyps, refs, word_order=2),
    }


def main():
    refs = read_lines('multi30k/val.de', 200)
    vocab = sorted({w for line in read_lines('multi30k/val.de', 1014) for w in line.split()})
    hyps = perturb(refs, 1, vocab)
    ref2 = perturb(refs, 2, vocab)
    ref2 = [r if r else refs[i] for i, r in enumerate(ref2)]
    cases = [
        case('multi30k_val_de_200', hyps, [refs]),
        case('multi30k_val_de_200_two_refs', hyps, [refs, ref2]),
        case('tricky', TRICKY, [TRICKY_REFS]),
        # short sentences (orders with no n-gram) and no 4-gram match: smoothing at work
        case('short', ['a', 'b c', 'x y z', 'the cat'], [['a b', 'b c', 'x q z w', 'the dog']]),
        case('no_4gram', ['a', 'b c', 'the cat sat down on the mat'],
             [['a b', 'b c', 'the cat sat up on the mat']]),
    ]
    tok = BLEU().tokenizer
    out = {
        'generator': 'tests/golden/gen_bleu.py',
        'sacrebleu': sacrebleu.__version__,
        'cases': cases,
        'tokenize_13a': [{'in': t, 'out': tok(t.rstrip())} for t in TRICKY + TRICKY_REFS],
    }
    path = os.path.join(ROOT, 'tests', 'golden', 'bleu.json')
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(out, f, ensure_ascii=False, indent=0)
        f.write('\n')
    print(f'wrote {path}', file=sys.stderr)


if __name__ == '__main__':
    main()

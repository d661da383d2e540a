#!/usr/bin/env python3
"""Prints a harness run's trace compactly, with batch times as grid indices (b<i>) and times in seconds from 12:00:00.
usage: reference/tools/show-trace.py target/reference/<scenario>   [--jobs]"""
import json, sys

run = sys.argv[1]
jobs = '--jobs' in sys.argv
info = json.load(open(f'{run}/run.json'))
t0, B = info['t0'], info['batchMs']
def b(x): return f"b{(x - t0) / B:g}"
def rng(rs): return ' '.join(f"{r['topic'][-1] if False else ''}p{r['partition']}[{r['fromOffset']},{r['untilOffset']})" for r in rs)
def offs(os): return ' '.join(f"p{o['partition']}={o['offset']}" for o in os)
for line in open(f'{run}/trace.jsonl'):
    e = json.loads(line); ev = e['event']
    if ev in ('jobStarted',) and not jobs: continue
    if ev == 'jobFinished' and not jobs and e['error'] is None: continue
    s = f"{(e['t'] - t0) / 1000:7.2f}s {ev:17}"
    if 'batch' in e: s += f" {b(e['batch'])}"
    if ev == 'batchGenerated': s += f" {rng(e['ranges'])} n={e['numRecords']}{' rerun' if e['rerun'] else ''}{' restored' if e['restored'] else ''}"
    elif ev in ('commitSent', 'commitCompleted'): s += f" {offs(e['offsets'])}" + (f" error={e['error']}" if e.get('error') else '')
    elif ev == 'checkpointWritten':
        c = e['checkpoint']
        s += (f" {e['file'].replace(str(t0)[:-4], '…')} time={b(c['checkpointTime'])} cur={offs(c.get('currentOffsets', []))}"
              f" queue=[{rng(c.get('commitQueue', []))}] pending={[b(x) for x in c['pendingTimes']]}"
              f" bft={[b(x['batch']) for x in c.get('batchForTime', [])]} state={[b(x['batch']) for x in c['stateFiles']]} nfiles={len(e['files'])}")
    elif ev == 'output': s += f" {e['lines']}"
    elif ev == 'contextStarted': s += f" {e['mode']} zero={b(e['zeroTime'])} first={b(e['firstBatch'])} rescheduled={[b(x) for x in e['rescheduled']]}"
    elif ev == 'restoredStream': s += f" cur={offs(e['currentOffsets'])} queue=[{rng(e['commitQueue'])}] restored={[b(x) for x in e['restoredBatches']]}"
    elif ev == 'jobFinished': s += f" op{e['outputOp']} error={e['error']}"
    elif ev == 'error': s += f" [{e['phase']}] {e['class']}: {e['message'][:300]}"
    else: s += ' ' + json.dumps({k: v for k, v in e.items() if k not in ('t', 'event', 'batch')})[:300]
    print(s)

import { describe, expect, it } from 'vitest';
import { checkStatements, withArticle } from './check.js';
import { formatDiagnostics } from './diagnostics.js';
import { runScenario } from './interpreter.js';
import { joinSplitCalls, parseScenario } from './parser.js';

const MAP = 'p = mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)';

/** The check pass's findings as `line:column-endColumn code: message`. */
function check(lines: string[]): string[] {
  const text = lines.join('\n') + '\n';
  const parsed = parseScenario(text, 't.strace');
  expect(parsed.diagnostics).toEqual([]);
  return checkStatements(joinSplitCalls(parsed.statements).statements, 't.strace').map(
    (d) => `${d.line}:${d.column}-${d.endColumn} ${d.code}: ${d.message}`,
  );
}

describe('checkStatements', () => {
  it('accepts a well-formed scenario, forward references and calls the model does not have', () => {
    expect(
      check([
        'munmap(p, 4096)',
        MAP,
        'store8(p + 1, 0xff)',
        'load8(p) = 0',
        'q = load64(p)',
        'smaps(p, "Rss", "Pss")',
        'maps() = "x"',
        'fd = openat(AT_FDCWD</tmp>, "/tmp/f", O_RDWR|O_CREAT, 0644) = 3</tmp/f>',
        'read(fd, "", 16) = 0',
        'write(fd, p, 16) = 16',
        'foo(PROT_FOO, r +, [?]) = 0',
        'rt_sigaction(SIGRT_1, {sa_handler=0x1, sa_mask=[], sa_flags=SA_RESTORER}, NULL, 8) = 0',
        'read(3, 0x7ffd6bb35827, 1) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)',
        'clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f0) = 200',
        '200  --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=3, si_status=0} ---',
      ]),
    ).toEqual([]);
  });

  it('reports an argument that only parsed as raw text, with the parser\'s reason where it arose', () => {
    expect(check([MAP, 'load8(p +) = 0'])).toEqual(["2:10-11 E_BAD_ARGUMENT: the address 'p +' does not parse: expected a value, found ')'"]);
  });

  it('reports an over-long operator chain in a modelled call, quoting only its start', () => {
    const chain = Array(600).fill('0x1000').join('+');
    const [d] = check([`munmap(${chain}, 4096)`]);
    expect(d).toMatch(/^1:\d+-\d+ E_BAD_ARGUMENT: the address '0x1000\+0x1000\+[0-9x+]{20,}\.\.\.' does not parse: more than 500 operators in one line; write the value as a single number$/);
  });

  it('reports unknown and unbound names', () => {
    expect(check(['mprotect(0x1000, 4096, PROT_READ|PROT_FOO)', 'munmap(q, 4096) = 0', 'load8(0x1000) = r'])).toEqual([
      "1:34-42 E_UNKNOWN_NAME: unknown name 'PROT_FOO': not a constant the model knows, and no line of this file binds it",
      "2:8-9 E_UNKNOWN_NAME: unknown name 'q': not a constant the model knows, and no line of this file binds it",
      "3:17-18 E_UNKNOWN_NAME: unknown name 'r': not a constant the model knows, and no line of this file binds it",
    ]);
  });

  it('reports missing and extra arguments', () => {
    expect(check([MAP, 'store8(p)', 'load8()', 'load8(p, 3, 4)', 'munlockall(1)'])).toEqual([
      '2:1-7 E_ARGUMENT_COUNT: store8() needs a value as argument 2 (2 arguments: address, value)',
      '3:1-6 E_ARGUMENT_COUNT: load8() needs an address as argument 1 (1 argument: address)',
      '4:10-14 E_ARGUMENT_COUNT: load8() takes at most 1 argument (address); 2 too many',
      '5:12-13 E_ARGUMENT_COUNT: munlockall() takes no arguments; 1 too many',
    ]);
  });

  it('reports integers that do not fit in 64 bits, and strings where numbers belong', () => {
    expect(check(['munmap(0x10000000000000000, 4096)', 'munmap(0xffffffffffffffff, 4096)', 'store(0x1000, 5)'])).toEqual([
      '1:8-27 E_OUT_OF_RANGE: 18446744073709551616 does not fit in 64 bits',
      '3:15-16 E_BAD_ARGUMENT: the string must be a quoted string ("..."), found \'5\'',
    ]);
  });

  it('reports unknown signals and si_codes in expectations and signal lines', () => {
    expect(check([MAP, 'load8(p) = SIGFOO', 'load8(p) = SIGSEGV {si_code=SEGV_BOGUS}', 'load8(p)', '--- SIGBUS {si_signo=SIGBUS, si_code=BUS_NOPE} ---', 'munmap(p, 4096) = -1 EWHATEVER'])).toEqual([
      '2:12-18 E_UNKNOWN_NAME: unknown signal SIGFOO',
      '3:29-39 E_UNKNOWN_NAME: unknown si_code SEGV_BOGUS',
      '5:38-46 E_UNKNOWN_NAME: unknown si_code BUS_NOPE',
      '6:19-31 E_UNKNOWN_NAME: unknown errno name EWHATEVER',
    ]);
  });

  it('runScenario() runs nothing when the check fails, and prints carets under the place', () => {
    const text = [MAP, 'store8(p, 1)', 'load8(p +) = 0', 'store8(p)'].join('\n') + '\n';
    const r = runScenario(text, { file: 't.strace' });
    expect(r.malformed).toBe(true);
    expect(r.records).toEqual([]);
    expect(formatDiagnostics(r.diagnostics, text)).toBe(
      "t.strace:3:10: error: the address 'p +' does not parse: expected a value, found ')' [E_BAD_ARGUMENT]\n" +
        'load8(p +) = 0\n' +
        '         ^\n' +
        't.strace:4:1: error: store8() needs a value as argument 2 (2 arguments: address, value) [E_ARGUMENT_COUNT]\n' +
        'store8(p)\n' +
        '^~~~~~',
    );
  });

  it('withArticle picks a or an', () => {
    expect(withArticle('address')).toBe('an address');
    expect(withArticle('length')).toBe('a length');
  });
});

/*
 * runner.c - mmsim's host-kernel oracle runner.
 *
 * Executes a sequence of memory-related operations as REAL syscalls and real
 * loads/stores on the host, and reports one JSON observation per operation.
 * The protocol (op lines in, JSON lines out) is described in
 * docs/oracle-runner.md; src/oracle/runner-protocol.ts is its TypeScript side.
 *
 * Architecture
 *   - The main thread of the initial process is both the "controller" (it reads
 *     stdin, parses op lines, resolves $N references, writes stdout) and task 0
 *     (it executes ops addressed to TID 0 inline).
 *   - Every other task (a fork child, or a pthread in any task's process) owns
 *     one end of a socketpair; the controller owns the other end.  The controller
 *     sends it a parsed op, and waits for its reply (a small binary header plus
 *     the observation's JSON text) before reading the next line: everything is
 *     strictly sequential and deterministic.
 *   - A new task's socket end is created by the controller and handed to the
 *     task that forks/creates it with SCM_RIGHTS; the child (or thread) keeps it.
 *   - Runner-internal descriptors live at or above g_fd_base (near the
 *     RLIMIT_NOFILE soft limit) so the scenario sees the usual lowest-free
 *     descriptor numbering (3, 4, ...).
 *
 * Fault hygiene: the minflt/majflt delta of each op is measured with
 * getrusage(RUSAGE_SELF) around the op only.  Before that window the executing
 * task "prefaults" the runner's own memory (reads every page of its file-backed
 * text, atomically adds 0 to every page of its writable data, heap, stack and
 * the buffers the op will write), so that faults of the runner itself (first
 * execution of a code page, copy-on-write after fork) do not pollute the delta.
 *
 * Build: cc -O2 -pthread -Wl,-z,now -o mmsim-runner runner.c
 * (-z now: no lazy PLT binding, whose first call per function would write the
 * GOT inside the measured window.)
 */
#define _GNU_SOURCE
#include <sched.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROTOCOL_VERSION 1

#define MAX_ARGS 6
#define MAX_TID 1024
#define MAX_TASKS 64
#define MAX_STR (256 * 1024)        /* decoded bytes of a string argument */
#define MAX_BYTES (1024 * 1024)     /* bytes observed by load/read, mincore vector */
#define MAX_TEXT (2 * 1024 * 1024)  /* text of maps/smaps/... */
#define OUT_CAP (2 * MAX_TEXT + 64 * 1024)
#define LINE_CAP (4 * MAX_STR + 64 * 1024)
#define MAX_RANGES 1024
#define REF_SLOTS (1 << 17)
#define THREAD_PREFAULT (256 * 1024)
#define ALTSTACK_SIZE (64 * 1024)
#define THREAD_POOL 16              /* thread stacks mapped before the hello */
#define THREAD_STACK (512 * 1024)
#define JSON_RESERVE 8192

#define PAGE_ALIGNED __attribute__((aligned(4096)))

/* ------------------------------------------------------------------------ */
/* Buffers.  Static so that the runner allocates nothing after the hello.    */

static uint8_t g_payload[MAX_BYTES] PAGE_ALIGNED;  /* written inside the window */
static char g_text[MAX_TEXT] PAGE_ALIGNED;         /* written inside the window */
static char g_out[OUT_CAP] PAGE_ALIGNED;           /* observation JSON (executing task) */
static char g_relay[OUT_CAP] PAGE_ALIGNED;         /* controller: a remote task's reply */
static char g_in[LINE_CAP] PAGE_ALIGNED;           /* controller: stdin */
static uint8_t g_ctl_str[MAX_STR + 4096] PAGE_ALIGNED;  /* controller: parsed string arg */
static uint8_t g_task_str[MAX_STR + 4096] PAGE_ALIGNED; /* remote task: received string arg */
static char g_main_altstack[ALTSTACK_SIZE] PAGE_ALIGNED;

struct refslot {
	int64_t step;
	int64_t value;
	int32_t used;
	int32_t valid;
};
static struct refslot g_refs[REF_SLOTS] PAGE_ALIGNED;

/* ------------------------------------------------------------------------ */
/* Ops.                                                                      */

enum opcode {
	OP_MMAP, OP_MUNMAP, OP_MPROTECT, OP_MSYNC, OP_MINCORE, OP_MADVISE, OP_MREMAP, OP_BRK,
	OP_MLOCK, OP_MUNLOCK, OP_MLOCK2, OP_MLOCKALL, OP_MUNLOCKALL,
	OP_OPENAT, OP_CLOSE, OP_READ, OP_READ_INTO, OP_WRITE, OP_WRITE_FROM, OP_PREAD, OP_PWRITE,
	OP_LSEEK, OP_FTRUNCATE, OP_FSYNC, OP_FDATASYNC, OP_UNLINK, OP_FSTAT, OP_FADVISE, OP_MEMFD,
	OP_FORK, OP_THREAD, OP_EXIT,
	OP_LOAD8, OP_LOAD16, OP_LOAD32, OP_LOAD64, OP_STORE8, OP_STORE16, OP_STORE32, OP_STORE64,
	OP_LOAD, OP_STORE, OP_FILL,
	OP_RUSAGE, OP_MAPS, OP_SMAPS, OP_SMAPS_ROLLUP, OP_STATUS, OP_CHECKPOINT,
	OP_BENCH_FAULT_ANON, OP_BENCH_FAULT_FILE, OP_BENCH_VMA_OPS,
	OP_COUNT
};

/* args: 'i' integer or $N reference, 's' quoted string; after '|' optional. */
struct opspec {
	const char *name;
	const char *args;
};
static const struct opspec g_specs[OP_COUNT] = {
	[OP_MMAP] = {"mmap", "iiiiii"},
	[OP_MUNMAP] = {"munmap", "ii"},
	[OP_MPROTECT] = {"mprotect", "iii"},
	[OP_MSYNC] = {"msync", "iii"},
	[OP_MINCORE] = {"mincore", "ii"},
	[OP_MADVISE] = {"madvise", "iii"},
	[OP_MREMAP] = {"mremap", "iiii|i"},
	[OP_BRK] = {"brk", "i"},
	[OP_MLOCK] = {"mlock", "ii"},
	[OP_MUNLOCK] = {"munlock", "ii"},
	[OP_MLOCK2] = {"mlock2", "iii"},
	[OP_MLOCKALL] = {"mlockall", "i"},
	[OP_MUNLOCKALL] = {"munlockall", ""},
	[OP_OPENAT] = {"openat", "si|i"},
	[OP_CLOSE] = {"close", "i"},
	[OP_READ] = {"read", "ii"},
	[OP_READ_INTO] = {"read_into", "iii"},
	[OP_WRITE] = {"write", "is"},
	[OP_WRITE_FROM] = {"write_from", "iii"},
	[OP_PREAD] = {"pread", "iii"},
	[OP_PWRITE] = {"pwrite", "isi"},
	[OP_LSEEK] = {"lseek", "iii"},
	[OP_FTRUNCATE] = {"ftruncate", "ii"},
	[OP_FSYNC] = {"fsync", "i"},
	[OP_FDATASYNC] = {"fdatasync", "i"},
	[OP_UNLINK] = {"unlink", "s"},
	[OP_FSTAT] = {"fstat", "i"},
	[OP_FADVISE] = {"posix_fadvise", "iiii"},
	[OP_MEMFD] = {"memfd_create", "si"},
	[OP_FORK] = {"fork", "i"},
	[OP_THREAD] = {"thread", "i"},
	[OP_EXIT] = {"exit", "|i"},
	[OP_LOAD8] = {"load8", "i"},
	[OP_LOAD16] = {"load16", "i"},
	[OP_LOAD32] = {"load32", "i"},
	[OP_LOAD64] = {"load64", "i"},
	[OP_STORE8] = {"store8", "ii"},
	[OP_STORE16] = {"store16", "ii"},
	[OP_STORE32] = {"store32", "ii"},
	[OP_STORE64] = {"store64", "ii"},
	[OP_LOAD] = {"load", "ii"},
	[OP_STORE] = {"store", "is"},
	[OP_FILL] = {"fill", "iii"},
	[OP_RUSAGE] = {"rusage", ""},
	[OP_MAPS] = {"maps", ""},
	[OP_SMAPS] = {"smaps", ""},
	[OP_SMAPS_ROLLUP] = {"smaps_rollup", ""},
	[OP_STATUS] = {"status", ""},
	[OP_CHECKPOINT] = {"checkpoint", ""},
	[OP_BENCH_FAULT_ANON] = {"bench_fault_anon", "i"},
	[OP_BENCH_FAULT_FILE] = {"bench_fault_file", "i"},
	[OP_BENCH_VMA_OPS] = {"bench_vma_ops", "ii"},
};

/* A parsed op, as sent to a remote task (the string travels after it). */
struct op {
	int64_t step;
	int32_t tid;
	int32_t code;
	int32_t nargs;
	int32_t has_str;
	uint32_t slen;
	int32_t chan_fd; /* fork/thread: the new task's socket end, in the executor's fd table */
	int64_t a[MAX_ARGS];
	uint8_t *str;    /* not meaningful on the wire */
};

/* A remote task's reply header; the JSON text follows. */
struct reply {
	int64_t ret;
	int32_t has_ret;
	int32_t new_pid;
	int32_t new_ktid;
	int32_t exit_kind; /* 0, EXIT_PROCESS, EXIT_THREAD */
	int32_t exit_status;
	uint32_t json_len;
};
enum { EXIT_NONE, EXIT_PROCESS, EXIT_THREAD };

/* What an op produced; turned into JSON after the measured window. */
struct result {
	int64_t ret;
	int has_ret;
	int err;              /* errno name printed when nonzero */
	const char *refused;  /* static text or g_msg */
	const char *error;
	int faulted;
	int fault_sig, fault_code;
	uint64_t fault_addr;
	int has_value;
	uint64_t value;
	int has_bytes;
	size_t nbytes;        /* in g_payload */
	int has_done;
	size_t done;
	int has_vec;
	size_t vec_len;       /* in g_payload */
	int has_stat;
	struct stat st;
	int has_text;
	size_t text_len;
	int text_trunc;
	int has_rusage;
	struct rusage ru_self, ru_thread;
	int new_pid, new_ktid, new_tid;
	uint64_t stack_lo, stack_hi, guard;
	int exit_kind, exit_status;
	int has_bench;        /* bench_* ops: the timed part only */
	int64_t bench_ns, bench_ops, bench_live;
	long bench_minflt, bench_majflt;
	int timed_out;
	char msg[512];
};

/* ------------------------------------------------------------------------ */
/* Per-thread and per-process state.                                         */

struct tstate {
	sigjmp_buf op_jb;
	sigjmp_buf access_jb;
	volatile sig_atomic_t in_op;
	volatile sig_atomic_t in_access;
	volatile int fault_sig;
	volatile int fault_code;
	volatile uintptr_t fault_addr;
	int tid;            /* mmsim task id */
	int chan;           /* socket to the controller; -1 for the controller */
	int is_controller;
	int process_main;   /* exit = exit_group */
	timer_t timer;
	int has_timer;
	uintptr_t stk_lo, stk_hi; /* thread stack prefault window (0: main stack in g_pf) */
};
static __thread struct tstate T;

struct range {
	uintptr_t lo, hi;
	int write;
	char name[80];
};
static struct range g_prot[MAX_RANGES]; /* refused targets */
static int g_nprot;
static struct range g_pf[MAX_RANGES];   /* prefaulted every op */
static int g_npf;

static long g_page;
/* The thread stack pool: THREAD_POOL slots of a guard page and THREAD_STACK bytes. */
static uintptr_t g_thread_pool;
static int g_thread_pool_used;
static int g_fd_base;
static pid_t g_controller_pid;
static char g_sandbox[128];
static int g_sandbox_made;
static int g_keep_sandbox;
static int g_op_timeout_ms = 10000;
static uintptr_t g_brk_start;

struct task {
	int alive;
	int fd;       /* controller end */
	pid_t pid;
	pid_t ktid;
	int is_thread;
	int parent_is_controller_process; /* forked by a task of the controller's process */
};
static struct task g_tasks[MAX_TID];

static struct op g_task_op; /* remote tasks receive here */

/* ------------------------------------------------------------------------ */
/* Small utilities.                                                          */

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes; 0 on EOF before any byte, -1 on error/EOF midway.
 * With timeout_ms >= 0, -2 when nothing arrives in time. */
static int recv_full(int fd, void *buf, size_t len, int timeout_ms)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		if (timeout_ms >= 0) {
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			int r = poll(&pfd, 1, timeout_ms);
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0)
				return -2;
		}
		ssize_t n = recv(fd, p + got, len - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return got == 0 ? 0 : -1;
		got += (size_t)n;
	}
	return 1;
}

static int move_fd_high(int fd)
{
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, g_fd_base);
	if (nfd < 0)
		return fd;
	close(fd);
	return nfd;
}

static int is_runner_fd(int64_t fd)
{
	return (fd >= 0 && fd <= 2) || fd >= g_fd_base;
}

static const char *errno_name(int e, char *tmp, size_t n)
{
	const char *s = strerrorname_np(e);
	if (s)
		return s;
	snprintf(tmp, n, "E%d", e);
	return tmp;
}

static const char *signal_name(int sig, char *tmp, size_t n)
{
	const char *s = sigabbrev_np(sig);
	snprintf(tmp, n, "SIG%s", s ? s : "UNKNOWN");
	if (!s)
		snprintf(tmp, n, "SIG%d", sig);
	return tmp;
}

static const char *si_code_name(int sig, int code)
{
	switch (code) {
	case SI_USER: return "SI_USER";
	case SI_KERNEL: return "SI_KERNEL";
	case SI_TKILL: return "SI_TKILL";
	case SI_QUEUE: return "SI_QUEUE";
	default: break;
	}
	if (sig == SIGSEGV) {
		static const char *const n[] = {NULL, "SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR",
			"SEGV_PKUERR", "SEGV_ACCADI", "SEGV_ADIDERR", "SEGV_ADIPERR", "SEGV_MTEAERR",
			"SEGV_MTESERR", "SEGV_CPERR"};
		if (code > 0 && code < (int)(sizeof n / sizeof n[0]))
			return n[code];
	} else if (sig == SIGBUS) {
		static const char *const n[] = {NULL, "BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR",
			"BUS_MCEERR_AR", "BUS_MCEERR_AO"};
		if (code > 0 && code < (int)(sizeof n / sizeof n[0]))
			return n[code];
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* JSON writer.  Never produces invalid JSON: text is cut (and flagged) when  */
/* it would not leave JSON_RESERVE bytes for the rest of the object.          */

struct jw {
	char *b;
	size_t n, cap;
};

static void jw_raw(struct jw *w, const char *s, size_t len)
{
	if (w->n + len > w->cap)
		len = w->cap - w->n;
	memcpy(w->b + w->n, s, len);
	w->n += len;
}

static void jw_s(struct jw *w, const char *s) { jw_raw(w, s, strlen(s)); }

static void jw_fmt(struct jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jw_fmt(struct jw *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = w->cap - w->n;
	int k = vsnprintf(w->b + w->n, room, fmt, ap);
	va_end(ap);
	if (k > 0)
		w->n += (size_t)k < room ? (size_t)k : room - 1;
}

/* Writes a JSON string; returns 1 if it had to be cut short. */
static int jw_str(struct jw *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	int cut = 0;
	jw_raw(w, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (w->n + JSON_RESERVE + 8 > w->cap) {
			cut = 1;
			break;
		}
		unsigned char c = (unsigned char)s[i];
		char *o = w->b + w->n;
		if (c == '"' || c == '\\') {
			o[0] = '\\';
			o[1] = (char)c;
			w->n += 2;
		} else if (c == '\n') {
			o[0] = '\\';
			o[1] = 'n';
			w->n += 2;
		} else if (c == '\t') {
			o[0] = '\\';
			o[1] = 't';
			w->n += 2;
		} else if (c < 0x20 || c >= 0x7f) {
			/* bytes, not UTF-8: non-ASCII bytes become \u00XX (latin-1) */
			memcpy(o, "\\u00", 4);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 15];
			w->n += 6;
		} else {
			o[0] = (char)c;
			w->n += 1;
		}
	}
	jw_raw(w, "\"", 1);
	return cut;
}

static void jw_hex(struct jw *w, const uint8_t *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	jw_raw(w, "\"", 1);
	if (w->n + 2 * len + JSON_RESERVE > w->cap)
		len = 0; /* cannot happen with OUT_CAP >= 2 * MAX_BYTES + reserve */
	for (size_t i = 0; i < len; i++) {
		w->b[w->n++] = hex[p[i] >> 4];
		w->b[w->n++] = hex[p[i] & 15];
	}
	jw_raw(w, "\"", 1);
}

/* ------------------------------------------------------------------------ */
/* Signals: faults on loads/stores, the per-op watchdog, and fatal crashes.  */

static void remove_sandbox(void);

static void fatal_report(const char *what, int sig, uintptr_t addr)
{
	/* async-signal-safe enough: no locks, no allocation */
	char buf[512];
	char tmp[32];
	int k = snprintf(buf, sizeof buf,
		"{\"fatal\":\"%s %s at 0x%lx in task %d\"}\n", what,
		signal_name(sig, tmp, sizeof tmp), (unsigned long)addr, T.tid);
	if (k > 0)
		write_full(1, buf, (size_t)k);
}

static void fault_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (T.in_access) {
		T.fault_sig = sig;
		T.fault_code = si->si_code;
		T.fault_addr = (uintptr_t)si->si_addr;
		T.in_access = 0;
		siglongjmp(T.access_jb, 1);
	}
	if (getpid() == g_controller_pid) {
		/* The runner itself crashed (or the scenario clobbered it). */
		fatal_report("runner crashed:", sig, (uintptr_t)si->si_addr);
		remove_sandbox();
		_exit(70);
	}
	/* A child task: die from the signal; the controller reports it. */
	signal(sig, SIG_DFL);
}

static void alarm_handler(int sig)
{
	(void)sig;
	if (T.in_op) {
		T.in_op = 0;
		T.in_access = 0;
		siglongjmp(T.op_jb, 2);
	}
}

static void term_handler(int sig)
{
	if (getpid() == g_controller_pid) {
		for (int t = 1; t < MAX_TID; t++)
			if (g_tasks[t].alive && !g_tasks[t].is_thread)
				kill(g_tasks[t].pid, SIGKILL);
		remove_sandbox();
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fault_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = alarm_handler;
	sa.sa_flags = SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = term_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	signal(SIGPIPE, SIG_IGN);
}

static void setup_altstack(void *base, size_t size)
{
	stack_t ss = {.ss_sp = base, .ss_size = size, .ss_flags = 0};
	sigaltstack(&ss, NULL);
}

/* Per-thread watchdog: a POSIX timer that signals this very thread. */
static void setup_watchdog(void)
{
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGALRM;
	sev._sigev_un._tid = gettid();
	T.has_timer = timer_create(CLOCK_MONOTONIC, &sev, &T.timer) == 0;
}

static void arm_watchdog(int on)
{
	if (!T.has_timer)
		return;
	struct itimerspec its;
	memset(&its, 0, sizeof its);
	if (on) {
		its.it_value.tv_sec = g_op_timeout_ms / 1000;
		its.it_value.tv_nsec = (long)(g_op_timeout_ms % 1000) * 1000000L;
	}
	timer_settime(T.timer, 0, &its, NULL);
}

/* ------------------------------------------------------------------------ */
/* The runner's own mappings: protected from the scenario, prefaulted.       */

static int parse_maps_line(const char *line, uintptr_t *lo, uintptr_t *hi, char perms[5],
			   unsigned long *inode, const char **name)
{
	unsigned long long a, b, off;
	unsigned maj, min;
	unsigned long ino;
	int pos = 0;
	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %lu %n", &a, &b, perms, &off, &maj, &min, &ino,
		   &pos) < 7)
		return -1;
	*lo = (uintptr_t)a;
	*hi = (uintptr_t)b;
	*inode = ino;
	*name = line + pos;
	return 0;
}

static ssize_t read_proc_self(const char *name, char *buf, size_t cap, int *trunc)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	*trunc = 0;
	for (;;) {
		if (n == cap) {
			char c;
			*trunc = read(fd, &c, 1) > 0;
			break;
		}
		ssize_t k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	return (ssize_t)n;
}

static void add_range(struct range *arr, int *count, uintptr_t lo, uintptr_t hi, int write,
		      const char *name)
{
	if (*count >= MAX_RANGES || lo >= hi)
		return;
	struct range *r = &arr[(*count)++];
	r->lo = lo;
	r->hi = hi;
	r->write = write;
	snprintf(r->name, sizeof r->name, "%s", name);
}

static void capture_own_mappings(const char *maps, size_t len)
{
	const char *p = maps, *end = maps + len;
	char line[512];
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (l >= sizeof line)
			l = sizeof line - 1;
		memcpy(line, p, l);
		line[l] = 0;
		p = nl ? nl + 1 : end;

		uintptr_t lo, hi;
		char perms[5] = {0};
		unsigned long inode;
		const char *name;
		if (parse_maps_line(line, &lo, &hi, perms, &inode, &name) < 0)
			continue;
		const char *label = *name ? name : "anonymous mapping";
		add_range(g_prot, &g_nprot, lo, hi, 0, label);

		/* prefault list: readable mappings except special ones */
		if (perms[0] != 'r')
			continue;
		if (!strncmp(name, "[vvar", 5) || !strcmp(name, "[vsyscall]"))
			continue;
		add_range(g_pf, &g_npf, lo, hi, perms[1] == 'w', label);
	}
}

/* The big I/O buffers are written outside the measured window (or
 * prefaulted per op, for g_payload and g_text): do not touch them per op. */
static int in_skip_buffer(uintptr_t pg, uintptr_t pg_end)
{
	static const struct {
		const void *p;
		size_t n;
	} skip[] = {
		{g_payload, sizeof g_payload}, {g_text, sizeof g_text}, {g_out, sizeof g_out},
		{g_relay, sizeof g_relay},     {g_in, sizeof g_in},     {g_ctl_str, sizeof g_ctl_str},
		{g_task_str, sizeof g_task_str}, {g_refs, sizeof g_refs},
	};
	for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++) {
		uintptr_t lo = (uintptr_t)skip[i].p, hi = lo + skip[i].n;
		if (pg >= lo && pg_end <= hi)
			return 1;
	}
	return 0;
}

static void touch_write(uintptr_t lo, uintptr_t hi)
{
	lo &= ~(uintptr_t)(g_page - 1);
	for (uintptr_t p = lo; p < hi; p += (uintptr_t)g_page)
		__atomic_fetch_add((long *)p, 0L, __ATOMIC_RELAXED);
}

static void prefault(const struct op *op)
{
	for (int i = 0; i < g_npf; i++) {
		const struct range *r = &g_pf[i];
		for (uintptr_t p = r->lo; p < r->hi; p += (uintptr_t)g_page) {
			if (r->write) {
				if (!in_skip_buffer(p, p + (uintptr_t)g_page))
					__atomic_fetch_add((long *)p, 0L, __ATOMIC_RELAXED);
			} else {
				(void)*(volatile char *)p;
			}
		}
	}
	if (T.stk_hi)
		touch_write(T.stk_lo, T.stk_hi);
	errno = 0;
	T.fault_sig = 0;

	/* buffers the op writes inside the window */
	size_t need = 0;
	switch (op->code) {
	case OP_READ:
	case OP_PREAD:
	case OP_LOAD:
		need = op->a[1] > 0 && op->a[1] <= MAX_BYTES ? (size_t)op->a[1] : 0;
		break;
	case OP_MINCORE: {
		uint64_t len = (uint64_t)op->a[1];
		uint64_t pages = len / (uint64_t)g_page + 2;
		need = pages <= MAX_BYTES ? (size_t)pages : MAX_BYTES;
		break;
	}
	case OP_MAPS:
	case OP_SMAPS:
	case OP_SMAPS_ROLLUP:
	case OP_STATUS:
		touch_write((uintptr_t)g_text, (uintptr_t)g_text + sizeof g_text);
		break;
	default:
		break;
	}
	if (need)
		touch_write((uintptr_t)g_payload, (uintptr_t)g_payload + need);
}

/* Does [addr, addr + len) overlap a protected range?  For page-granular
 * syscalls (pages = 1) the length is rounded up as the kernel does, and an
 * unaligned addr is let through: the kernel rejects it with EINVAL before
 * touching anything.  Loads and stores (pages = 0) are byte-exact. */
static const struct range *overlap_protected(uint64_t addr, uint64_t len, int pages)
{
	uint64_t mask = (uint64_t)g_page - 1, end;
	if (len == 0 || (pages && (addr & mask)))
		return NULL;
	if (__builtin_add_overflow(addr, len, &end) ||
	    (pages && __builtin_add_overflow(end, mask, &end)))
		end = UINT64_MAX;
	else if (pages)
		end &= ~mask;
	uint64_t start = addr;
	for (int i = 0; i < g_nprot; i++)
		if (start < g_prot[i].hi && end > g_prot[i].lo)
			return &g_prot[i];
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Sandbox.                                                                  */

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Flat sandbox (the protocol has no mkdir): unlink every entry, then rmdir.
 * Only raw syscalls, so the signal handlers can call it. */
static void remove_sandbox(void)
{
	if (!g_sandbox_made || g_keep_sandbox)
		return;
	int dfd = (int)syscall(SYS_openat, AT_FDCWD, g_sandbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		char buf[4096] __attribute__((aligned(8)));
		for (int round = 0; round < 64; round++) {
			long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
			if (n <= 0)
				break;
			for (long off = 0; off < n;) {
				struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
				off += d->d_reclen;
				if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
					continue;
				if (unlinkat(dfd, d->d_name, 0) < 0 && errno == EISDIR)
					unlinkat(dfd, d->d_name, AT_REMOVEDIR);
			}
		}
		close(dfd);
	}
	if (rmdir(g_sandbox) == 0)
		g_sandbox_made = 0;
}

/* Paths: relative to the sandbox (the cwd), or absolute under it; no "..".
 * /dev/zero and /dev/null may be opened (not unlinked). */
static const char *check_path(const char *path, int for_open, const char **use)
{
	size_t sl = strlen(g_sandbox);
	*use = path;
	if (path[0] == '/') {
		if (!strncmp(path, g_sandbox, sl) && path[sl] == '/') {
			*use = path + sl + 1;
		} else if (for_open && (!strcmp(path, "/dev/zero") || !strcmp(path, "/dev/null"))) {
			return NULL;
		} else {
			return "absolute path outside the sandbox";
		}
	}
	const char *p = *use;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t l = slash ? (size_t)(slash - p) : strlen(p);
		if (l == 2 && p[0] == '.' && p[1] == '.')
			return "path with a '..' component";
		if (!slash)
			break;
		p = slash + 1;
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Guarded memory access.                                                    */

enum access_kind { ACC_LOAD, ACC_STORE_BYTES, ACC_FILL };

/* Copies len bytes between scenario memory and a buffer, one byte at a time,
 * so a fault reports exactly how far the access got.  Returns bytes done. */
static size_t guarded_bytes(enum access_kind kind, uintptr_t addr, uint8_t *buf, size_t len,
			    uint8_t fill, struct result *res)
{
	volatile size_t i = 0;
	T.fault_sig = 0;
	if (sigsetjmp(T.access_jb, 1) == 0) {
		T.in_access = 1;
		for (; i < len; i++) {
			volatile uint8_t *p = (volatile uint8_t *)(addr + i);
			if (kind == ACC_LOAD)
				buf[i] = *p;
			else if (kind == ACC_STORE_BYTES)
				*p = buf[i];
			else
				*p = fill;
		}
		T.in_access = 0;
	} else {
		res->faulted = 1;
		res->fault_sig = T.fault_sig;
		res->fault_code = T.fault_code;
		res->fault_addr = T.fault_addr;
	}
	return i;
}

static int guarded_scalar(int store, int width, uintptr_t addr, uint64_t *val, struct result *res)
{
	T.fault_sig = 0;
	if (sigsetjmp(T.access_jb, 1) == 0) {
		T.in_access = 1;
		if (store) {
			switch (width) {
			case 1: *(volatile uint8_t *)addr = (uint8_t)*val; break;
			case 2: *(volatile uint16_t *)addr = (uint16_t)*val; break;
			case 4: *(volatile uint32_t *)addr = (uint32_t)*val; break;
			default: *(volatile uint64_t *)addr = *val; break;
			}
		} else {
			switch (width) {
			case 1: *val = *(volatile uint8_t *)addr; break;
			case 2: *val = *(volatile uint16_t *)addr; break;
			case 4: *val = *(volatile uint32_t *)addr; break;
			default: *val = *(volatile uint64_t *)addr; break;
			}
		}
		T.in_access = 0;
		return 0;
	}
	res->faulted = 1;
	res->fault_sig = T.fault_sig;
	res->fault_code = T.fault_code;
	res->fault_addr = T.fault_addr;
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Executing an op (in the task it is addressed to).                         */

static _Noreturn void serve_loop(void);

static void set_sys(struct result *res, long r)
{
	res->ret = r;
	res->has_ret = 1;
	res->err = r == -1 ? errno : 0;
}

static void refuse(struct result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(struct result *res, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof res->msg, fmt, ap);
	va_end(ap);
	res->refused = res->msg;
}

static int refuse_range(struct result *res, const char *what, uint64_t addr, uint64_t len, int pages)
{
	const struct range *r = overlap_protected(addr, len, pages);
	if (!r)
		return 0;
	refuse(res, "%s overlaps the runner's own mapping %lx-%lx %s", what, (unsigned long)r->lo,
	       (unsigned long)r->hi, r->name);
	return 1;
}

static int refuse_fd(struct result *res, int64_t fd)
{
	if (!is_runner_fd(fd))
		return 0;
	refuse(res, "descriptor %lld belongs to the runner", (long long)fd);
	return 1;
}

static int madvise_is_harmless(int64_t advice)
{
	switch (advice) {
	case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED:
	case MADV_DOFORK: case MADV_MERGEABLE: case MADV_UNMERGEABLE: case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE: case MADV_DONTDUMP: case MADV_DODUMP: case MADV_KEEPONFORK:
	case MADV_COLD: case MADV_PAGEOUT: case 22 /* MADV_POPULATE_READ */:
	case 23 /* MADV_POPULATE_WRITE */:
		return 1;
	default:
		return 0;
	}
}

struct thread_start {
	int chan;
	int tid;
	sem_t ready;
	pid_t ktid;
	uintptr_t stack_lo, stack_hi, guard;
	size_t pool_guard; /* the guard page below a pool stack (pthread reports none for it) */
};

static void *thread_main(void *arg)
{
	struct thread_start *ts = arg;
	char altstack[ALTSTACK_SIZE];
	T.tid = ts->tid;
	T.chan = ts->chan;
	T.is_controller = 0;
	T.process_main = 0;
	setup_altstack(altstack, sizeof altstack);
	setup_watchdog();

	pthread_attr_t at;
	void *lo = NULL;
	size_t size = 0, guard = 0;
	if (pthread_getattr_np(pthread_self(), &at) == 0) {
		pthread_attr_getstack(&at, &lo, &size);
		pthread_attr_getguardsize(&at, &guard);
		pthread_attr_destroy(&at);
	}
	if (guard == 0)
		guard = ts->pool_guard;
	uintptr_t hi = (uintptr_t)lo + size;
	T.stk_hi = hi;
	T.stk_lo = size > THREAD_PREFAULT ? hi - THREAD_PREFAULT : (uintptr_t)lo;
	char name[80];
	snprintf(name, sizeof name, "[thread stack of task %d]", T.tid);
	add_range(g_prot, &g_nprot, (uintptr_t)lo - guard, hi, 1, name);
	touch_write(T.stk_lo, T.stk_hi);

	ts->ktid = gettid();
	ts->stack_lo = (uintptr_t)lo - guard;
	ts->stack_hi = hi;
	ts->guard = guard;
	sem_post(&ts->ready); /* ts is dead after this */
	serve_loop();
}

static _Noreturn void child_enter(int newtid, int chan)
{
	T.in_op = 0;
	T.in_access = 0;
	T.is_controller = 0;
	T.process_main = 1;
	T.tid = newtid;
	T.chan = chan;
	/* Close every runner descriptor except our channel. */
	if (chan > g_fd_base && syscall(SYS_close_range, g_fd_base, chan - 1, 0) < 0)
		for (int fd = g_fd_base; fd < chan; fd++)
			close(fd);
	if (syscall(SYS_close_range, chan + 1, ~0U, 0) < 0)
		for (int fd = chan + 1; fd < g_fd_base + 2 * MAX_TASKS + 16; fd++)
			close(fd);
	/* Keep 0-2 allocated (scenario fds still start at 3) but detached from
	 * the controller's pipes, so a lingering child never holds them. */
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		if (nul > 2)
			close(nul);
	}
	T.has_timer = 0; /* timers are not inherited by fork */
	setup_watchdog();
	serve_loop();
}

static void do_proc_text(const char *name, struct result *res)
{
	int trunc = 0;
	ssize_t n = read_proc_self(name, g_text, sizeof g_text, &trunc);
	if (n < 0) {
		set_sys(res, -1);
		return;
	}
	res->ret = 0;
	res->has_ret = 1;
	res->has_text = 1;
	res->text_len = (size_t)n;
	res->text_trunc = trunc;
}

/* ------------------------------------------------------------------------ */
/* Timing ops (the host baselines of `mmsim bench`).                         */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#define BENCH_MAX_PAGES (1 << 20) /* 4 GiB of 4 KiB pages */

/* Times [t0, t1) and the rusage delta of the loop `body`. */
#define BENCH_WINDOW(res, body)                                                   \
	do {                                                                      \
		struct rusage b0_, b1_;                                           \
		getrusage(RUSAGE_SELF, &b0_);                                     \
		int64_t t0_ = now_ns();                                           \
		body;                                                             \
		int64_t t1_ = now_ns();                                           \
		getrusage(RUSAGE_SELF, &b1_);                                     \
		(res)->bench_ns = t1_ - t0_;                                      \
		(res)->bench_minflt = b1_.ru_minflt - b0_.ru_minflt;              \
		(res)->bench_majflt = b1_.ru_majflt - b0_.ru_majflt;              \
		(res)->has_bench = 1;                                             \
	} while (0)

static void bench_fault_anon(int64_t n, struct result *res)
{
	if (n <= 0 || n > BENCH_MAX_PAGES) {
		refuse(res, "bench_fault_anon takes 1..%d pages", BENCH_MAX_PAGES);
		return;
	}
	size_t len = (size_t)n * (size_t)g_page;
	long r = syscall(SYS_mmap, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r == -1) {
		set_sys(res, r);
		return;
	}
	volatile uint8_t *p = (volatile uint8_t *)r;
	BENCH_WINDOW(res, for (int64_t i = 0; i < n; i++) p[i * g_page] = 1);
	res->bench_ops = n;
	syscall(SYS_munmap, r, len);
	res->ret = 0;
	res->has_ret = 1;
}

static void bench_fault_file(int64_t n, struct result *res)
{
	if (n <= 0 || n > BENCH_MAX_PAGES) {
		refuse(res, "bench_fault_file takes 1..%d pages", BENCH_MAX_PAGES);
		return;
	}
	static const char name[] = "mmsim-bench-fault-file";
	int fd = (int)syscall(SYS_openat, AT_FDCWD, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		set_sys(res, fd);
		return;
	}
	size_t len = (size_t)n * (size_t)g_page;
	memset(g_payload, 0x5a, MAX_BYTES);
	long r = 0;
	for (size_t off = 0; off < len && r >= 0;) {
		size_t chunk = len - off < MAX_BYTES ? len - off : MAX_BYTES;
		r = syscall(SYS_pwrite64, fd, g_payload, chunk, (off_t)off);
		if (r > 0)
			off += (size_t)r;
		else if (r == 0)
			r = -1;
	}
	if (r >= 0)
		r = syscall(SYS_fsync, fd);
	if (r >= 0)
		r = syscall(SYS_mmap, 0, len, PROT_READ, MAP_SHARED, fd, 0);
	if (r == -1) {
		set_sys(res, r);
	} else {
		volatile const uint8_t *p = (volatile const uint8_t *)r;
		unsigned sum = 0;
		BENCH_WINDOW(res, for (int64_t i = 0; i < n; i++) sum += p[i * g_page]);
		res->bench_ops = n;
		res->value = sum;
		syscall(SYS_munmap, r, len);
		res->ret = 0;
		res->has_ret = 1;
	}
	syscall(SYS_close, fd);
	syscall(SYS_unlinkat, AT_FDCWD, name, 0);
}

static long count_maps(void)
{
	int trunc = 0;
	ssize_t n = read_proc_self("maps", g_text, MAX_TEXT, &trunc);
	long lines = 0;
	for (ssize_t i = 0; i < n; i++)
		lines += g_text[i] == '\n';
	return trunc ? -1 : lines;
}

static void bench_vma_ops(int64_t live, int64_t pairs, struct result *res)
{
	long have = count_maps();
	long max = 65530;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
	if (f) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 65530;
		fclose(f);
	}
	/* +3: the pair's own mapping, and room for a split or two. */
	if (live < 0 || pairs <= 0 || have < 0 || live + have + 3 > max) {
		refuse(res, "bench_vma_ops: %lld live mappings on top of the runner's %ld exceed "
		       "max_map_count %ld (or bad counts)", (long long)live, have, max);
		return;
	}
	size_t page = (size_t)g_page;
	size_t span = (size_t)(live ? live : 1) * 2 * page;
	/* Find a free span, release it, then fill every other page of it. */
	long base = syscall(SYS_mmap, 0, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == -1) {
		set_sys(res, base);
		return;
	}
	syscall(SYS_munmap, base, span);
	int64_t made = 0;
	long r = 0;
	for (; made < live; made++) {
		r = syscall(SYS_mmap, base + (long)((size_t)made * 2 * page), page, PROT_READ,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (r == -1)
			break;
	}
	if (r != -1) {
		int failed = 0;
		BENCH_WINDOW(res, for (int64_t i = 0; i < pairs; i++) {
			long a = syscall(SYS_mmap, 0, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (a == -1 || syscall(SYS_munmap, a, page) != 0)
				failed = 1;
		});
		res->bench_ops = pairs;
		res->bench_live = live;
		if (failed) {
			res->error = "bench_vma_ops: an mmap or munmap of a pair failed";
		} else {
			res->ret = 0;
			res->has_ret = 1;
		}
	} else {
		set_sys(res, r);
	}
	syscall(SYS_munmap, base, span);
}

static void run_op(struct op *op, struct result *res)
{
	int64_t *a = op->a;
	const char *why;
	const char *path;
	switch (op->code) {
	case OP_MMAP:
		if ((a[3] & MAP_FIXED) && refuse_range(res, "MAP_FIXED", (uint64_t)a[0], (uint64_t)a[1], 1))
			return;
		if (!(a[3] & MAP_ANONYMOUS) && refuse_fd(res, a[4]))
			return;
		set_sys(res, syscall(SYS_mmap, a[0], a[1], a[2], a[3], a[4], a[5]));
		return;
	case OP_MUNMAP:
		if (refuse_range(res, "munmap", (uint64_t)a[0], (uint64_t)a[1], 1))
			return;
		set_sys(res, syscall(SYS_munmap, a[0], a[1]));
		return;
	case OP_MPROTECT:
		if (refuse_range(res, "mprotect", (uint64_t)a[0], (uint64_t)a[1], 1))
			return;
		set_sys(res, syscall(SYS_mprotect, a[0], a[1], a[2]));
		return;
	case OP_MSYNC:
		set_sys(res, syscall(SYS_msync, a[0], a[1], a[2]));
		return;
	case OP_MINCORE: {
		uint64_t len = (uint64_t)a[1];
		uint64_t pages = len / (uint64_t)g_page + ((len % (uint64_t)g_page) ? 1 : 0);
		if (pages > MAX_BYTES) {
			refuse(res, "mincore of %llu pages exceeds the runner's %d-byte vector",
			       (unsigned long long)pages, MAX_BYTES);
			return;
		}
		set_sys(res, syscall(SYS_mincore, a[0], a[1], g_payload));
		if (res->ret == 0) {
			res->has_vec = 1;
			res->vec_len = (size_t)pages;
		}
		return;
	}
	case OP_MADVISE:
		if (!madvise_is_harmless(a[2]) && refuse_range(res, "madvise", (uint64_t)a[0], (uint64_t)a[1], 1))
			return;
		set_sys(res, syscall(SYS_madvise, a[0], a[1], a[2]));
		return;
	case OP_MREMAP: {
		if (refuse_range(res, "mremap (old range)", (uint64_t)a[0], a[1] ? (uint64_t)a[1] : 1, 1))
			return;
		int64_t newaddr = op->nargs > 4 ? a[4] : 0;
		if ((a[3] & MREMAP_FIXED) &&
		    refuse_range(res, "mremap (new range)", (uint64_t)newaddr, (uint64_t)a[2], 1))
			return;
		set_sys(res, syscall(SYS_mremap, a[0], a[1], a[2], a[3], newaddr));
		return;
	}
	case OP_BRK:
		if (a[0] != 0 && (uint64_t)a[0] < g_brk_start) {
			refuse(res, "brk below the break at start (0x%lx) would cut the runner's heap",
			       (unsigned long)g_brk_start);
			return;
		}
		/* Through glibc's brk() so that malloc's idea of the break stays in
		 * sync; sbrk(0) then gives the raw syscall result (the new break,
		 * or the old one on failure: brk never returns an errno). */
		(void)brk((void *)a[0]);
		res->ret = (int64_t)(uintptr_t)sbrk(0);
		res->has_ret = 1;
		return;
	case OP_MLOCK:
		set_sys(res, syscall(SYS_mlock, a[0], a[1]));
		return;
	case OP_MUNLOCK:
		set_sys(res, syscall(SYS_munlock, a[0], a[1]));
		return;
	case OP_MLOCK2:
		set_sys(res, syscall(SYS_mlock2, a[0], a[1], a[2]));
		return;
	case OP_MLOCKALL:
		set_sys(res, syscall(SYS_mlockall, a[0]));
		return;
	case OP_MUNLOCKALL:
		set_sys(res, syscall(SYS_munlockall));
		return;
	case OP_OPENAT:
		why = check_path((const char *)op->str, 1, &path);
		if (why) {
			refuse(res, "openat: %s", why);
			return;
		}
		set_sys(res, syscall(SYS_openat, AT_FDCWD, path, a[1], op->nargs > 2 ? a[2] : 0));
		return;
	case OP_CLOSE:
		if (refuse_fd(res, a[0]))
			return;
		set_sys(res, syscall(SYS_close, a[0]));
		return;
	case OP_READ:
	case OP_PREAD:
		if (refuse_fd(res, a[0]))
			return;
		if ((uint64_t)a[1] > MAX_BYTES) {
			refuse(res, "read of %lld bytes exceeds the runner's %d-byte buffer",
			       (long long)a[1], MAX_BYTES);
			return;
		}
		if (op->code == OP_READ)
			set_sys(res, syscall(SYS_read, a[0], g_payload, a[1]));
		else
			set_sys(res, syscall(SYS_pread64, a[0], g_payload, a[1], a[2]));
		if (res->ret >= 0) {
			res->has_bytes = 1;
			res->nbytes = (size_t)res->ret;
		}
		return;
	case OP_READ_INTO:
		if (refuse_fd(res, a[0]) || refuse_range(res, "read_into", (uint64_t)a[1], (uint64_t)a[2], 0))
			return;
		set_sys(res, syscall(SYS_read, a[0], a[1], a[2]));
		return;
	case OP_WRITE:
		if (refuse_fd(res, a[0]))
			return;
		set_sys(res, syscall(SYS_write, a[0], op->str, (size_t)op->slen));
		return;
	case OP_PWRITE:
		if (refuse_fd(res, a[0]))
			return;
		set_sys(res, syscall(SYS_pwrite64, a[0], op->str, (size_t)op->slen, a[2]));
		return;
	case OP_WRITE_FROM:
		if (refuse_fd(res, a[0]))
			return;
		set_sys(res, syscall(SYS_write, a[0], a[1], a[2]));
		return;
	case OP_LSEEK:
		if (refuse_fd(res, a[0]))
			return;
		set_sys(res, syscall(SYS_lseek, a[0], a[1], a[2]));
		return;
	case OP_FTRUNCATE:
		if (refuse_fd(res, a[0]))
			return;
		set_sys(res, syscall(SYS_ftruncate, a[0], a[1]));
		return;
	case OP_FSYNC:
		if (refuse_fd(res, a[0]))
			return;
		set_sys(res, syscall(SYS_fsync, a[0]));
		return;
	case OP_FDATASYNC:
		if (refuse_fd(res, a[0]))
			return;
		set_sys(res, syscall(SYS_fdatasync, a[0]));
		return;
	case OP_UNLINK:
		why = check_path((const char *)op->str, 0, &path);
		if (why) {
			refuse(res, "unlink: %s", why);
			return;
		}
		set_sys(res, syscall(SYS_unlinkat, AT_FDCWD, path, 0));
		return;
	case OP_FSTAT:
		if (refuse_fd(res, a[0]))
			return;
		set_sys(res, syscall(SYS_fstat, a[0], &res->st));
		res->has_stat = res->ret == 0;
		return;
	case OP_FADVISE:
		if (refuse_fd(res, a[0]))
			return;
		/* the raw syscall: -1/errno, unlike posix_fadvise() */
		set_sys(res, syscall(SYS_fadvise64, a[0], a[1], a[2], a[3]));
		return;
	case OP_MEMFD:
		set_sys(res, syscall(SYS_memfd_create, (const char *)op->str, a[1]));
		return;
	case OP_FORK: {
		pid_t pid = fork();
		if (pid == 0)
			child_enter((int)a[0], op->chan_fd);
		set_sys(res, pid);
		if (pid > 0) {
			res->new_pid = pid;
			res->new_tid = (int)a[0];
		}
		close(op->chan_fd);
		return;
	}
	case OP_THREAD: {
		struct thread_start ts;
		memset(&ts, 0, sizeof ts);
		ts.chan = op->chan_fd;
		ts.tid = (int)a[0];
		sem_init(&ts.ready, 0, 0);
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (g_thread_pool && g_thread_pool_used < THREAD_POOL) {
			uintptr_t slot = g_thread_pool + (uintptr_t)g_thread_pool_used++ * (THREAD_STACK + (uintptr_t)g_page);
			pthread_attr_setstack(&at, (void *)(slot + (uintptr_t)g_page), THREAD_STACK);
			ts.pool_guard = (size_t)g_page;
		}
		pthread_t th;
		int e = pthread_create(&th, &at, thread_main, &ts);
		pthread_attr_destroy(&at);
		if (e) {
			res->ret = -1;
			res->has_ret = 1;
			res->err = e;
			close(op->chan_fd);
			return;
		}
		while (sem_wait(&ts.ready) < 0 && errno == EINTR)
			;
		res->ret = 0;
		res->has_ret = 1;
		res->new_tid = (int)a[0];
		res->new_pid = getpid();
		res->new_ktid = ts.ktid;
		res->stack_lo = ts.stack_lo;
		res->stack_hi = ts.stack_hi;
		res->guard = ts.guard;
		return;
	}
	case OP_EXIT:
		if (T.is_controller) {
			refuse(res, "task 0 is the runner's controller; end the input instead");
			return;
		}
		res->exit_kind = T.process_main ? EXIT_PROCESS : EXIT_THREAD;
		res->exit_status = op->nargs > 0 ? (int)a[0] : 0;
		return;
	case OP_LOAD8:
	case OP_LOAD16:
	case OP_LOAD32:
	case OP_LOAD64: {
		uint64_t v = 0;
		int width = 1 << (op->code - OP_LOAD8);
		if (guarded_scalar(0, width, (uintptr_t)a[0], &v, res) == 0) {
			res->has_value = 1;
			res->value = v;
			res->ret = (int64_t)v;
			res->has_ret = 1;
		}
		return;
	}
	case OP_STORE8:
	case OP_STORE16:
	case OP_STORE32:
	case OP_STORE64: {
		uint64_t v = (uint64_t)a[1];
		int width = 1 << (op->code - OP_STORE8);
		if (refuse_range(res, "store", (uint64_t)a[0], (uint64_t)width, 0))
			return;
		if (guarded_scalar(1, width, (uintptr_t)a[0], &v, res) == 0) {
			res->ret = 0;
			res->has_ret = 1;
		}
		return;
	}
	case OP_LOAD: {
		if ((uint64_t)a[1] > MAX_BYTES) {
			refuse(res, "load of %lld bytes exceeds the runner's %d-byte buffer",
			       (long long)a[1], MAX_BYTES);
			return;
		}
		size_t done = guarded_bytes(ACC_LOAD, (uintptr_t)a[0], g_payload, (size_t)a[1], 0, res);
		res->has_bytes = 1;
		res->nbytes = done;
		if (res->faulted) {
			res->has_done = 1;
			res->done = done;
		} else {
			res->ret = 0;
			res->has_ret = 1;
		}
		return;
	}
	case OP_STORE:
	case OP_FILL: {
		uint64_t len = op->code == OP_STORE ? op->slen : (uint64_t)a[1];
		if (refuse_range(res, op->code == OP_STORE ? "store" : "fill", (uint64_t)a[0], len, 0))
			return;
		size_t done = op->code == OP_STORE
			? guarded_bytes(ACC_STORE_BYTES, (uintptr_t)a[0], op->str, (size_t)len, 0, res)
			: guarded_bytes(ACC_FILL, (uintptr_t)a[0], NULL, (size_t)len, (uint8_t)a[2], res);
		if (res->faulted) {
			res->has_done = 1;
			res->done = done;
		} else {
			res->ret = 0;
			res->has_ret = 1;
		}
		return;
	}
	case OP_RUSAGE:
		getrusage(RUSAGE_SELF, &res->ru_self);
		getrusage(RUSAGE_THREAD, &res->ru_thread);
		res->has_rusage = 1;
		res->ret = 0;
		res->has_ret = 1;
		return;
	case OP_MAPS:
		do_proc_text("maps", res);
		return;
	case OP_SMAPS:
		do_proc_text("smaps", res);
		return;
	case OP_SMAPS_ROLLUP:
		do_proc_text("smaps_rollup", res);
		return;
	case OP_STATUS:
		do_proc_text("status", res);
		return;
	case OP_CHECKPOINT:
		res->ret = 0;
		res->has_ret = 1;
		return;
	case OP_BENCH_FAULT_ANON:
		bench_fault_anon(a[0], res);
		return;
	case OP_BENCH_FAULT_FILE:
		bench_fault_file(a[0], res);
		return;
	case OP_BENCH_VMA_OPS:
		bench_vma_ops(a[0], a[1], res);
		return;
	default:
		res->error = "unknown op code";
		return;
	}
}

static void format_observation(const struct op *op, const struct result *res, long minflt,
			       long majflt, struct jw *w)
{
	char tmp[64];
	jw_fmt(w, "{\"step\":%lld,\"tid\":%d,\"pid\":%d,\"op\":\"%s\",", (long long)op->step,
	       op->tid, (int)getpid(), g_specs[op->code].name);
	if (res->has_ret)
		jw_fmt(w, "\"ret\":\"%lld\"", (long long)res->ret);
	else
		jw_s(w, "\"ret\":null");
	if (res->has_ret && res->ret == -1 && res->err)
		jw_fmt(w, ",\"errno\":\"%s\"", errno_name(res->err, tmp, sizeof tmp));
	if (res->refused) {
		jw_s(w, ",\"refused\":");
		jw_str(w, res->refused, strlen(res->refused));
	}
	if (res->error) {
		jw_s(w, ",\"error\":");
		jw_str(w, res->error, strlen(res->error));
	}
	if (res->timed_out)
		jw_fmt(w, ",\"error\":\"watchdog: op did not finish within %d ms\"", g_op_timeout_ms);
	if (res->faulted) {
		const char *cn = si_code_name(res->fault_sig, res->fault_code);
		jw_fmt(w, ",\"signal\":{\"name\":\"%s\",", signal_name(res->fault_sig, tmp, sizeof tmp));
		if (cn)
			jw_fmt(w, "\"code\":\"%s\",", cn);
		else
			jw_fmt(w, "\"code\":\"%d\",", res->fault_code);
		jw_fmt(w, "\"addr\":\"0x%llx\"}", (unsigned long long)res->fault_addr);
	}
	if (res->has_value)
		jw_fmt(w, ",\"value\":\"%llu\"", (unsigned long long)res->value);
	if (res->has_bytes) {
		jw_s(w, ",\"bytes\":");
		jw_hex(w, g_payload, res->nbytes);
	}
	if (res->has_done)
		jw_fmt(w, ",\"done\":%zu", res->done);
	if (res->has_vec) {
		jw_s(w, ",\"vec\":[");
		for (size_t i = 0; i < res->vec_len; i++)
			jw_fmt(w, i ? ",%u" : "%u", (unsigned)g_payload[i]);
		jw_s(w, "]");
	}
	if (res->has_stat) {
		const struct stat *s = &res->st;
		jw_fmt(w,
		       ",\"stat\":{\"size\":\"%lld\",\"ino\":\"%llu\",\"dev\":\"%llu\",\"devMajor\":%u,"
		       "\"devMinor\":%u,\"blocks\":\"%lld\",\"blksize\":%ld,\"mode\":%u,\"nlink\":%lu}",
		       (long long)s->st_size, (unsigned long long)s->st_ino,
		       (unsigned long long)s->st_dev, major(s->st_dev), minor(s->st_dev),
		       (long long)s->st_blocks, (long)s->st_blksize, (unsigned)s->st_mode,
		       (unsigned long)s->st_nlink);
	}
	if (res->has_rusage)
		jw_fmt(w,
		       ",\"rusage\":{\"minflt\":%ld,\"majflt\":%ld,\"maxrssKb\":%ld,"
		       "\"threadMinflt\":%ld,\"threadMajflt\":%ld}",
		       res->ru_self.ru_minflt, res->ru_self.ru_majflt, res->ru_self.ru_maxrss,
		       res->ru_thread.ru_minflt, res->ru_thread.ru_majflt);
	if (op->code == OP_FORK && res->new_pid > 0)
		jw_fmt(w, ",\"child\":{\"tid\":%d,\"pid\":%d}", res->new_tid, res->new_pid);
	if (op->code == OP_THREAD && res->new_ktid > 0)
		jw_fmt(w,
		       ",\"thread\":{\"tid\":%d,\"pid\":%d,\"kernelTid\":%d,\"stackStart\":\"0x%llx\","
		       "\"stackEnd\":\"0x%llx\",\"guardSize\":%llu}",
		       res->new_tid, res->new_pid, res->new_ktid, (unsigned long long)res->stack_lo,
		       (unsigned long long)res->stack_hi, (unsigned long long)res->guard);
	if (res->exit_kind)
		jw_fmt(w, ",\"exit\":{\"status\":%d,\"kind\":\"%s\"}", res->exit_status,
		       res->exit_kind == EXIT_PROCESS ? "process" : "thread");
	if (res->has_bench)
		jw_fmt(w, ",\"bench\":{\"ns\":\"%lld\",\"ops\":%lld,\"live\":%lld,\"minflt\":%ld,\"majflt\":%ld}",
		       (long long)res->bench_ns, (long long)res->bench_ops, (long long)res->bench_live,
		       res->bench_minflt, res->bench_majflt);
	if (res->has_text) {
		jw_s(w, ",\"text\":");
		int cut = jw_str(w, g_text, res->text_len);
		if (cut || res->text_trunc)
			jw_s(w, ",\"truncated\":true");
	}
	jw_fmt(w, ",\"minflt\":%ld,\"majflt\":%ld}", minflt, majflt);
}

/* Runs op in the calling task: prefault, measure, execute, format. */
static void exec_op(struct op *op, struct result *res, struct jw *w)
{
	struct rusage r0, r1;
	memset(res, 0, sizeof *res);
	prefault(op);
	arm_watchdog(1);
	getrusage(RUSAGE_SELF, &r0);
	if (sigsetjmp(T.op_jb, 1) == 0) {
		T.in_op = 1;
		run_op(op, res);
		T.in_op = 0;
	} else {
		res->timed_out = 1;
	}
	getrusage(RUSAGE_SELF, &r1);
	arm_watchdog(0);
	format_observation(op, res, r1.ru_minflt - r0.ru_minflt, r1.ru_majflt - r0.ru_majflt, w);
}

/* ------------------------------------------------------------------------ */
/* Remote tasks: the serve loop and the wire.                                */

static int send_op(int fd, const struct op *op, int pass_fd)
{
	struct msghdr mh;
	struct iovec iov = {.iov_base = (void *)op, .iov_len = sizeof *op};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (pass_fd >= 0) {
		memset(&cm, 0, sizeof cm);
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof cm.buf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof *op && send_full(fd, (const char *)op + n, sizeof *op - (size_t)n) < 0)
		return -1;
	if (op->slen && send_full(fd, op->str, op->slen) < 0)
		return -1;
	return 0;
}

static int recv_op(int fd, struct op *op, uint8_t *strbuf, int *passed)
{
	struct msghdr mh;
	struct iovec iov = {.iov_base = op, .iov_len = sizeof *op};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof cm.buf;
	*passed = -1;
	ssize_t n;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return (int)n;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int f;
			memcpy(&f, CMSG_DATA(c), sizeof f);
			*passed = move_fd_high(f);
		}
	if ((size_t)n < sizeof *op && recv_full(fd, (char *)op + n, sizeof *op - (size_t)n, -1) != 1)
		return -1;
	if (op->slen > MAX_STR)
		return -1;
	if (op->slen && recv_full(fd, strbuf, op->slen, -1) != 1)
		return -1;
	strbuf[op->slen] = 0;
	op->str = strbuf;
	op->chan_fd = *passed;
	return 1;
}

static _Noreturn void task_exit_now(int status)
{
	if (T.process_main)
		_exit(status);
	syscall(SYS_exit, status); /* this thread only; skips glibc's stack recycling */
	for (;;)
		pause();
}

static _Noreturn void serve_loop(void)
{
	static struct result res; /* one task runs at a time */
	for (;;) {
		int passed;
		if (recv_op(T.chan, &g_task_op, g_task_str, &passed) <= 0)
			task_exit_now(0);
		struct jw w = {g_out, 0, sizeof g_out};
		exec_op(&g_task_op, &res, &w);
		struct reply rp;
		memset(&rp, 0, sizeof rp);
		rp.ret = res.ret;
		rp.has_ret = res.has_ret;
		rp.new_pid = res.new_pid;
		rp.new_ktid = res.new_ktid;
		rp.exit_kind = res.exit_kind;
		rp.exit_status = res.exit_status;
		rp.json_len = (uint32_t)w.n;
		if (send_full(T.chan, &rp, sizeof rp) < 0 || send_full(T.chan, g_out, w.n) < 0)
			task_exit_now(0);
		if (res.exit_kind) {
			close(T.chan);
			task_exit_now(res.exit_status);
		}
	}
}

/* ------------------------------------------------------------------------ */
/* The controller: parsing, references, dispatch.                            */

static struct refslot *ref_slot(int64_t step, int create)
{
	uint64_t h = (uint64_t)step * 0x9E3779B97F4A7C15ull;
	for (uint64_t i = 0; i < REF_SLOTS; i++) {
		struct refslot *s = &g_refs[(h + i) & (REF_SLOTS - 1)];
		if (s->used && s->step == step)
			return s;
		if (!s->used) {
			if (!create)
				return NULL;
			s->used = 1;
			s->step = step;
			return s;
		}
	}
	return NULL;
}

static void record_ret(int64_t step, int has_ret, int64_t ret)
{
	struct refslot *s = ref_slot(step, 1);
	if (s) {
		s->valid = has_ret;
		s->value = ret;
	}
}

/* Integer: [-+]? (0x hex | decimal), 64 bits (unsigned range accepted). */
static int parse_int(const char *s, size_t len, int64_t *out)
{
	int neg = 0;
	size_t i = 0;
	if (i < len && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (i == len)
		return -1;
	uint64_t v = 0;
	if (len - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		i += 2;
		if (len - i > 16)
			return -1;
		for (; i < len; i++) {
			int c = (unsigned char)s[i], d;
			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				return -1;
			v = v << 4 | (uint64_t)d;
		}
	} else {
		for (; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return -1;
			if (__builtin_mul_overflow(v, 10u, &v) ||
			    __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
				return -1;
		}
	}
	if (neg && v > (uint64_t)1 << 63)
		return -1;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A C-escaped double-quoted string starting at s[*pos] == '"'. */
static int parse_string(const char *s, size_t len, size_t *pos, uint8_t *out, uint32_t *outlen,
			char *err, size_t errsz)
{
	size_t i = *pos + 1, n = 0;
	for (;;) {
		if (i >= len) {
			snprintf(err, errsz, "unterminated string");
			return -1;
		}
		unsigned char c = (unsigned char)s[i++];
		if (c == '"')
			break;
		if (n >= MAX_STR) {
			snprintf(err, errsz, "string longer than %d bytes", MAX_STR);
			return -1;
		}
		if (c != '\\') {
			out[n++] = c;
			continue;
		}
		if (i >= len) {
			snprintf(err, errsz, "unterminated escape");
			return -1;
		}
		c = (unsigned char)s[i++];
		switch (c) {
		case 'n': out[n++] = '\n'; break;
		case 't': out[n++] = '\t'; break;
		case 'r': out[n++] = '\r'; break;
		case 'a': out[n++] = '\a'; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'v': out[n++] = '\v'; break;
		case 'e': out[n++] = 0x1b; break;
		case '\\': out[n++] = '\\'; break;
		case '"': out[n++] = '"'; break;
		case '\'': out[n++] = '\''; break;
		case '?': out[n++] = '?'; break;
		case 'x': {
			int h1 = i < len ? hexval((unsigned char)s[i]) : -1;
			int h2 = i + 1 < len ? hexval((unsigned char)s[i + 1]) : -1;
			if (h1 < 0 || h2 < 0) {
				snprintf(err, errsz, "\\x needs exactly two hex digits");
				return -1;
			}
			out[n++] = (uint8_t)(h1 << 4 | h2);
			i += 2;
			break;
		}
		default:
			if (c >= '0' && c <= '7') {
				unsigned v = c - '0';
				for (int k = 0; k < 2 && i < len && s[i] >= '0' && s[i] <= '7'; k++)
					v = v * 8 + (unsigned)(s[i++] - '0');
				if (v > 255) {
					snprintf(err, errsz, "octal escape above \\377");
					return -1;
				}
				out[n++] = (uint8_t)v;
			} else {
				snprintf(err, errsz, "unknown escape \\%c", c);
				return -1;
			}
		}
	}
	if (i < len && !isspace((unsigned char)s[i])) {
		snprintf(err, errsz, "junk after closing quote");
		return -1;
	}
	out[n] = 0;
	*outlen = (uint32_t)n;
	*pos = i;
	return 0;
}

static int parse_arg_int(const char *tok, size_t tl, int64_t *out, char *err, size_t errsz)
{
	if (tok[0] != '$') {
		if (parse_int(tok, tl, out) < 0) {
			snprintf(err, errsz, "bad integer '%.*s'", (int)(tl > 40 ? 40 : tl), tok);
			return -1;
		}
		return 0;
	}
	/* $N, $N+K, $N-K */
	size_t i = 1;
	while (i < tl && tok[i] >= '0' && tok[i] <= '9')
		i++;
	int64_t step, k = 0;
	if (i == 1 || parse_int(tok + 1, i - 1, &step) < 0) {
		snprintf(err, errsz, "bad reference '%.*s'", (int)(tl > 40 ? 40 : tl), tok);
		return -1;
	}
	if (i < tl) {
		if ((tok[i] != '+' && tok[i] != '-') || parse_int(tok + i, tl - i, &k) < 0) {
			snprintf(err, errsz, "bad reference offset in '%.*s'", (int)(tl > 40 ? 40 : tl), tok);
			return -1;
		}
	}
	struct refslot *s = ref_slot(step, 0);
	if (!s) {
		snprintf(err, errsz, "reference $%lld: no such step", (long long)step);
		return -1;
	}
	if (!s->valid) {
		snprintf(err, errsz, "reference $%lld: that step has no result value", (long long)step);
		return -1;
	}
	*out = (int64_t)((uint64_t)s->value + (uint64_t)k);
	return 0;
}

enum { PARSE_OK, PARSE_SKIP, PARSE_ERR };

struct parse_info {
	int has_step, has_tid, code;
	int64_t step;
	int tid;
};

static int parse_line(const char *s, size_t len, struct op *op, struct parse_info *pi, char *err,
		      size_t errsz)
{
	size_t i = 0;
	memset(op, 0, sizeof *op);
	memset(pi, 0, sizeof *pi);
	pi->code = -1;
	op->chan_fd = -1;
	op->str = g_ctl_str;
	g_ctl_str[0] = 0;

#define SKIPWS() while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) i++
#define TOKEN(start, tl) do { start = i; while (i < len && !isspace((unsigned char)s[i])) i++; tl = i - start; } while (0)
	size_t st, tl;
	SKIPWS();
	if (i == len || s[i] == '#')
		return PARSE_SKIP;
	TOKEN(st, tl);
	if (parse_int(s + st, tl, &op->step) < 0) {
		snprintf(err, errsz, "line must start with an integer step number");
		return PARSE_ERR;
	}
	pi->has_step = 1;
	pi->step = op->step;
	SKIPWS();
	TOKEN(st, tl);
	int64_t tid;
	if (tl == 0 || parse_int(s + st, tl, &tid) < 0 || tid < 0 || tid >= MAX_TID) {
		snprintf(err, errsz, "bad task id (0..%d)", MAX_TID - 1);
		return PARSE_ERR;
	}
	op->tid = (int32_t)tid;
	pi->has_tid = 1;
	pi->tid = (int)tid;
	SKIPWS();
	TOKEN(st, tl);
	int code = -1;
	for (int c = 0; c < OP_COUNT; c++)
		if (strlen(g_specs[c].name) == tl && !memcmp(g_specs[c].name, s + st, tl))
			code = c;
	if (code < 0) {
		snprintf(err, errsz, "unknown op '%.*s'", (int)(tl > 40 ? 40 : tl), s + st);
		return PARSE_ERR;
	}
	op->code = code;
	pi->code = code;

	const char *spec = g_specs[code].args;
	int required = 0, total = 0, optional = 0;
	char kinds[MAX_ARGS + 1];
	for (const char *p = spec; *p; p++) {
		if (*p == '|') {
			optional = 1;
			continue;
		}
		kinds[total++] = *p;
		if (!optional)
			required++;
	}
	int n = 0;
	for (;;) {
		SKIPWS();
		if (i >= len || s[i] == '#')
			break;
		if (n >= total) {
			snprintf(err, errsz, "%s takes %s%d argument%s", g_specs[code].name,
				 required < total ? "at most " : "", total, total == 1 ? "" : "s");
			return PARSE_ERR;
		}
		if (kinds[n] == 's') {
			if (s[i] != '"') {
				snprintf(err, errsz, "argument %d of %s must be a quoted string", n + 1,
					 g_specs[code].name);
				return PARSE_ERR;
			}
			if (parse_string(s, len, &i, g_ctl_str, &op->slen, err, errsz) < 0)
				return PARSE_ERR;
			op->has_str = 1;
			op->a[n] = 0;
		} else {
			if (s[i] == '"') {
				snprintf(err, errsz, "argument %d of %s must be an integer", n + 1,
					 g_specs[code].name);
				return PARSE_ERR;
			}
			TOKEN(st, tl);
			if (parse_arg_int(s + st, tl, &op->a[n], err, errsz) < 0)
				return PARSE_ERR;
		}
		n++;
	}
	if (n < required) {
		snprintf(err, errsz, "%s takes %s%d argument%s, got %d", g_specs[code].name,
			 required < total ? "at least " : "", required, required == 1 ? "" : "s", n);
		return PARSE_ERR;
	}
	op->nargs = n;
	return PARSE_OK;
#undef SKIPWS
#undef TOKEN
}

static void emit(const char *buf, size_t len)
{
	write_full(1, buf, len);
	write_full(1, "\n", 1);
}

static void emit_error(const struct parse_info *pi, const char *msg, const char *line, size_t len)
{
	struct jw w = {g_out, 0, sizeof g_out};
	jw_s(&w, "{\"step\":");
	if (pi->has_step)
		jw_fmt(&w, "%lld", (long long)pi->step);
	else
		jw_s(&w, "null");
	jw_s(&w, ",\"tid\":");
	if (pi->has_tid)
		jw_fmt(&w, "%d", pi->tid);
	else
		jw_s(&w, "null");
	if (pi->code >= 0)
		jw_fmt(&w, ",\"op\":\"%s\"", g_specs[pi->code].name);
	else
		jw_s(&w, ",\"op\":null");
	jw_s(&w, ",\"ret\":null,\"error\":");
	jw_str(&w, msg, strlen(msg));
	if (line) {
		jw_s(&w, ",\"line\":");
		jw_str(&w, line, len > 4096 ? 4096 : len);
	}
	jw_s(&w, ",\"minflt\":0,\"majflt\":0}");
	emit(g_out, w.n);
	if (pi->has_step)
		record_ret(pi->step, 0, 0);
}

static int task_count(void)
{
	int n = 0;
	for (int t = 1; t < MAX_TID; t++)
		n += g_tasks[t].alive;
	return n;
}

static void mark_process_dead(pid_t pid)
{
	for (int t = 1; t < MAX_TID; t++)
		if (g_tasks[t].alive && g_tasks[t].pid == pid) {
			g_tasks[t].alive = 0;
			close(g_tasks[t].fd);
		}
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits (bounded) until a process is gone; returns its wait status when it
 * was our child, else -1. */
static int wait_process_gone(pid_t pid, int direct_child, int budget_ms)
{
	for (int waited = 0; waited <= budget_ms; waited++) {
		if (direct_child) {
			int st;
			pid_t r = waitpid(pid, &st, WNOHANG | __WALL);
			if (r == pid)
				return st;
			if (r < 0)
				return -1;
		} else {
			char path[64], buf[256];
			snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				return -1;
			ssize_t n = read(fd, buf, sizeof buf - 1);
			close(fd);
			if (n <= 0)
				return -1;
			buf[n] = 0;
			const char *rp = strrchr(buf, ')');
			if (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'))
				return -1;
		}
		sleep_ms(1);
	}
	return -1;
}

static void wait_thread_gone(pid_t pid, pid_t ktid, int budget_ms)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d", (int)pid, (int)ktid);
	for (int waited = 0; waited <= budget_ms; waited++) {
		struct stat st;
		if (stat(path, &st) < 0)
			return;
		sleep_ms(1);
	}
}

static void register_task(int tid, int ctl_fd, const struct reply *rp, int is_thread,
			  int forked_in_controller_process)
{
	struct task *t = &g_tasks[tid];
	t->alive = 1;
	t->fd = ctl_fd;
	t->pid = rp->new_pid;
	t->ktid = is_thread ? rp->new_ktid : rp->new_pid;
	t->is_thread = is_thread;
	t->parent_is_controller_process = forked_in_controller_process;
}

static void dispatch(struct op *op, const struct parse_info *pi, const char *line, size_t len)
{
	static struct result res;
	int ctl_end = -1, task_end = -1;
	int creates = op->code == OP_FORK || op->code == OP_THREAD;

	if (op->tid != 0 && !g_tasks[op->tid].alive) {
		char msg[96];
		snprintf(msg, sizeof msg, "task %d does not exist or has exited", op->tid);
		emit_error(pi, msg, NULL, 0);
		return;
	}
	if (creates) {
		int64_t nt = op->a[0];
		char msg[96];
		if (nt <= 0 || nt >= MAX_TID || g_tasks[nt].alive) {
			snprintf(msg, sizeof msg, "new task id %lld is invalid or in use", (long long)nt);
			emit_error(pi, msg, line, len);
			return;
		}
		if (task_count() >= MAX_TASKS) {
			snprintf(msg, sizeof msg, "at most %d tasks", MAX_TASKS);
			emit_error(pi, msg, NULL, 0);
			return;
		}
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
			emit_error(pi, "socketpair failed", NULL, 0);
			return;
		}
		ctl_end = move_fd_high(sv[0]);
		task_end = move_fd_high(sv[1]);
	}

	struct reply rp;
	memset(&rp, 0, sizeof rp);
	const char *json;
	size_t json_len;
	int executor_in_controller_process;

	if (op->tid == 0) {
		op->chan_fd = task_end; /* fork/thread consume it */
		struct jw w = {g_out, 0, sizeof g_out};
		exec_op(op, &res, &w);
		rp.ret = res.ret;
		rp.has_ret = res.has_ret;
		rp.new_pid = res.new_pid;
		rp.new_ktid = res.new_ktid;
		json = g_out;
		json_len = w.n;
		executor_in_controller_process = 1;
	} else {
		struct task *t = &g_tasks[op->tid];
		executor_in_controller_process = t->pid == g_controller_pid;
		int sent = send_op(t->fd, op, task_end);
		if (task_end >= 0)
			close(task_end);
		int r = sent < 0 ? -1 : recv_full(t->fd, &rp, sizeof rp, g_op_timeout_ms + 3000);
		if (r == 1)
			r = rp.json_len <= sizeof g_relay
				? recv_full(t->fd, g_relay, rp.json_len, g_op_timeout_ms + 3000)
				: -1; /* cannot happen: tasks format into a buffer of the same size */
		if (r != 1) {
			char msg[160];
			if (r == -2) {
				snprintf(msg, sizeof msg, "task %d did not reply within %d ms; it was killed",
					 op->tid, g_op_timeout_ms + 3000);
				if (!t->is_thread)
					kill(t->pid, SIGKILL);
				t->alive = 0;
				close(t->fd);
			} else {
				pid_t pid = t->pid;
				int st = t->is_thread ? -1 : wait_process_gone(pid, t->parent_is_controller_process, 1000);
				char sig[32];
				if (st != -1 && WIFSIGNALED(st))
					snprintf(msg, sizeof msg, "task %d died: killed by %s", op->tid,
						 signal_name(WTERMSIG(st), sig, sizeof sig));
				else if (st != -1 && WIFEXITED(st))
					snprintf(msg, sizeof msg, "task %d died: exited with %d", op->tid,
						 WEXITSTATUS(st));
				else
					snprintf(msg, sizeof msg, "task %d died", op->tid);
				if (t->is_thread) {
					t->alive = 0;
					close(t->fd);
				} else {
					mark_process_dead(pid);
				}
			}
			if (ctl_end >= 0)
				close(ctl_end);
			emit_error(pi, msg, NULL, 0);
			return;
		}
		json = g_relay;
		json_len = rp.json_len;
	}

	if (creates) {
		int ok = rp.has_ret && (op->code == OP_FORK ? rp.ret > 0 : rp.ret == 0);
		if (ok)
			register_task((int)op->a[0], ctl_end, &rp, op->code == OP_THREAD,
				      executor_in_controller_process);
		else
			close(ctl_end);
	}
	if (op->tid != 0 && rp.exit_kind) {
		struct task *t = &g_tasks[op->tid];
		if (rp.exit_kind == EXIT_PROCESS) {
			wait_process_gone(t->pid, t->parent_is_controller_process, 2000);
			mark_process_dead(t->pid);
		} else {
			wait_thread_gone(t->pid, t->ktid, 2000);
			t->alive = 0;
			close(t->fd);
		}
	}
	emit(json, json_len);
	record_ret(op->step, rp.has_ret, rp.ret);
}

static void handle_line(char *line, size_t len)
{
	static struct op op;
	struct parse_info pi;
	char err[256];
	int r = parse_line(line, len, &op, &pi, err, sizeof err);
	if (r == PARSE_SKIP)
		return;
	if (r == PARSE_ERR) {
		char msg[300];
		snprintf(msg, sizeof msg, "parse: %s", err);
		emit_error(&pi, msg, line, len);
		return;
	}
	dispatch(&op, &pi, line, len);
}

static void controller_loop(void)
{
	size_t fill = 0;
	int discarding = 0;
	for (;;) {
		ssize_t n = read(0, g_in + fill, sizeof g_in - fill);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		fill += (size_t)n;
		size_t start = 0;
		for (;;) {
			char *nl = memchr(g_in + start, '\n', fill - start);
			if (!nl)
				break;
			size_t l = (size_t)(nl - (g_in + start));
			if (!discarding)
				handle_line(g_in + start, l);
			discarding = 0;
			start += l + 1;
		}
		memmove(g_in, g_in + start, fill - start);
		fill -= start;
		if (fill == sizeof g_in) {
			if (!discarding) {
				struct parse_info pi;
				memset(&pi, 0, sizeof pi);
				pi.code = -1;
				int64_t step;
				const char *sp = memchr(g_in, ' ', 32);
				if (sp && parse_int(g_in, (size_t)(sp - g_in), &step) == 0) {
					pi.has_step = 1;
					pi.step = step;
				}
				emit_error(&pi, "parse: line too long", NULL, 0);
			}
			discarding = 1;
			fill = 0;
		}
	}
	if (fill > 0 && !discarding)
		handle_line(g_in, fill);
}

/* ------------------------------------------------------------------------ */
/* Start and end.                                                            */

static void print_limit(struct jw *w, const char *name, int res, int first)
{
	struct rlimit rl;
	getrlimit(res, &rl);
	jw_fmt(w, "%s\"%s\":[", first ? "" : ",", name);
	if (rl.rlim_cur == RLIM_INFINITY)
		jw_s(w, "null,");
	else
		jw_fmt(w, "\"%llu\",", (unsigned long long)rl.rlim_cur);
	if (rl.rlim_max == RLIM_INFINITY)
		jw_s(w, "null]");
	else
		jw_fmt(w, "\"%llu\"]", (unsigned long long)rl.rlim_max);
}

static uintptr_t read_start_brk(void)
{
	/* /proc/self/stat field 47 is start_brk (proc(5)) */
	char buf[2048];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p += 2; /* field 3 */
	for (int field = 3; field < 47 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p ? (uintptr_t)strtoull(p, NULL, 10) : 0;
}

static void usage_exit(void)
{
	static const char u[] = "usage: mmsim-runner [--op-timeout-ms N] [--keep-sandbox]\n"
				"reads ops on stdin; see docs/oracle-runner.md\n";
	write_full(2, u, sizeof u - 1);
	_exit(64);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--op-timeout-ms") && i + 1 < argc)
			g_op_timeout_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--keep-sandbox"))
			g_keep_sandbox = 1;
		else
			usage_exit();
	}
	if (g_op_timeout_ms <= 0)
		g_op_timeout_ms = 10000;

	g_page = sysconf(_SC_PAGESIZE);
	g_controller_pid = getpid();
	T.tid = 0;
	T.chan = -1;
	T.is_controller = 1;
	T.process_main = 1;

	struct rlimit rl = {0, 0};
	getrlimit(RLIMIT_CORE, &rl);
	rl.rlim_cur = 0;
	setrlimit(RLIMIT_CORE, &rl); /* a crashing task must not drop a core file anywhere */
	getrlimit(RLIMIT_NOFILE, &rl);
	long nofile = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1 << 20 ? 1 << 20 : (long)rl.rlim_cur;
	g_fd_base = nofile > 512 ? (int)nofile - 2 * MAX_TASKS - 16 : (int)nofile / 2;
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	/*
	 * Run on one CPU, inherited by every task: per-CPU state such as the LRU
	 * batches that MADV_FREE queues pages on is then drained by the next
	 * lru_add_drain() of any op, not left behind on another CPU.
	 */
	{
		cpu_set_t cpus;
		if (sched_getaffinity(0, sizeof cpus, &cpus) == 0) {
			for (int c = 0; c < CPU_SETSIZE; c++) {
				if (CPU_ISSET(c, &cpus)) {
					CPU_ZERO(&cpus);
					CPU_SET(c, &cpus);
					sched_setaffinity(0, sizeof cpus, &cpus);
					break;
				}
			}
		}
	}

	install_handlers();
	setup_altstack(g_main_altstack, sizeof g_main_altstack);
	setup_watchdog();

	snprintf(g_sandbox, sizeof g_sandbox, "/tmp/mmsim-runner-XXXXXX");
	if (!mkdtemp(g_sandbox) || chdir(g_sandbox) < 0) {
		char msg[256];
		int k = snprintf(msg, sizeof msg, "{\"fatal\":\"cannot create the sandbox under /tmp: %s\"}\n",
				 strerror(errno));
		write_full(1, msg, (size_t)k);
		return 70;
	}
	g_sandbox_made = 1;

	/*
	 * Thread stacks come from a pool mapped now, before the layout the hello
	 * reports, so a thread op maps nothing where the scenario's mappings go:
	 * a scenario's clone() maps nothing either (a real program's pthread
	 * stack is an mmap line of its own). Past THREAD_POOL threads in one
	 * process, pthread maps a default stack there.
	 */
	{
		size_t slot = THREAD_STACK + (size_t)g_page;
		void *pool = mmap(NULL, THREAD_POOL * slot, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
		if (pool != MAP_FAILED) {
			for (int i = 0; i < THREAD_POOL; i++)
				mprotect((char *)pool + (size_t)i * slot, (size_t)g_page, PROT_NONE);
			g_thread_pool = (uintptr_t)pool;
		}
	}

	/* Settle the heap now, so it is part of the layout the hello reports. */
	void *volatile warm = malloc(64);
	free(warm);
	g_brk_start = (uintptr_t)sbrk(0);

	int trunc;
	ssize_t n = read_proc_self("maps", g_text, sizeof g_text, &trunc);
	if (n < 0)
		n = 0;
	capture_own_mappings(g_text, (size_t)n);
	static const struct op hello_op = {.code = OP_CHECKPOINT};
	prefault(&hello_op);

	n = read_proc_self("maps", g_text, sizeof g_text, &trunc);
	if (n < 0)
		n = 0;
	struct jw w = {g_out, 0, sizeof g_out};
	jw_fmt(&w, "{\"hello\":true,\"version\":%d,\"pid\":%d,\"pageSize\":%ld,\"sandbox\":",
	       PROTOCOL_VERSION, (int)getpid(), g_page);
	jw_str(&w, g_sandbox, strlen(g_sandbox));
	jw_fmt(&w, ",\"brk\":\"0x%lx\",\"startBrk\":\"0x%lx\",\"fdBase\":%d,\"opTimeoutMs\":%d,"
		   "\"maxBytes\":%d,\"maxStr\":%d,\"maxText\":%d,\"maxTasks\":%d,\"limits\":{",
	       (unsigned long)g_brk_start, (unsigned long)read_start_brk(), g_fd_base,
	       g_op_timeout_ms, MAX_BYTES, MAX_STR, MAX_TEXT, MAX_TASKS);
	print_limit(&w, "stack", RLIMIT_STACK, 1);
	print_limit(&w, "memlock", RLIMIT_MEMLOCK, 0);
	print_limit(&w, "as", RLIMIT_AS, 0);
	print_limit(&w, "data", RLIMIT_DATA, 0);
	print_limit(&w, "nofile", RLIMIT_NOFILE, 0);
	jw_s(&w, "},\"protected\":[");
	for (int i = 0; i < g_nprot; i++) {
		jw_fmt(&w, "%s[\"0x%lx\",\"0x%lx\",", i ? "," : "", (unsigned long)g_prot[i].lo,
		       (unsigned long)g_prot[i].hi);
		jw_str(&w, g_prot[i].name, strlen(g_prot[i].name));
		jw_s(&w, "]");
	}
	jw_s(&w, "],\"maps\":");
	jw_str(&w, g_text, (size_t)n);
	jw_s(&w, "}");
	emit(g_out, w.n);

	controller_loop();

	for (int t = 1; t < MAX_TID; t++)
		if (g_tasks[t].alive) {
			if (!g_tasks[t].is_thread)
				kill(g_tasks[t].pid, SIGKILL);
			close(g_tasks[t].fd);
			g_tasks[t].alive = 0;
		}
	/* reap children and (as subreaper) orphaned grandchildren */
	for (int waited = 0; waited < 2000; waited++) {
		pid_t r = waitpid(-1, NULL, WNOHANG | __WALL);
		if (r < 0)
			break;
		if (r == 0)
			sleep_ms(1);
	}
	remove_sandbox();
	_exit(0);
}

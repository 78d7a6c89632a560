/* The roam CLI, run as a program (argv[1] is its path): key commands
 * against RFC 7748 values, help and usage exit codes, and `roam status`
 * against a fake roamd serving canned JSON on a control socket. */
#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ctl/ctl.h"

/* RFC 7748 6.1: Alice's private and public keys, base64. */
#define ALICE_PRIV "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
#define ALICE_PUB "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="

static const char *roam_path;

struct run {
	pid_t pid;
	int out_fd, err_fd;
	char out[16384], err[4096];
	int status;
};

static void spawn(struct run *r, const char *const args[], const char *input)
{
	int in[2], out[2], err[2];
	char *argv[16];
	size_t n = 0;

	argv[n++] = (char *)(uintptr_t)roam_path; /* execv's type, never written */
	for (; args[n - 1] && n < 15; n++)
		argv[n] = (char *)(uintptr_t)args[n - 1];
	argv[n] = NULL;
	CHECK(pipe(in) == 0 && pipe(out) == 0 && pipe(err) == 0);
	r->pid = fork();
	CHECK(r->pid >= 0);
	if (r->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(in[1]);
		close(out[0]);
		close(err[0]);
		execv(roam_path, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (input)
		CHECK_INT(write(in[1], input, strlen(input)), ==, strlen(input));
	close(in[1]);
	r->out_fd = out[0];
	r->err_fd = err[0];
}

static void read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
}

static int collect(struct run *r)
{
	read_all(r->out_fd, r->out, sizeof(r->out));
	read_all(r->err_fd, r->err, sizeof(r->err));
	CHECK_INT(waitpid(r->pid, &r->status, 0), ==, r->pid);
	CHECK(WIFEXITED(r->status));
	return WEXITSTATUS(r->status);
}

static int run(struct run *r, const char *const args[], const char *input)
{
	spawn(r, args, input);
	return collect(r);
}

static void test_keys(void)
{
	struct run r;
	uint8_t key[32];
	size_t len;

	CHECK_INT(run(&r, (const char *const[]){ "genkey", NULL }, NULL), ==, 0);
	CHECK_INT(strlen(r.out), ==, 45);
	r.out[44] = '\0';
	CHECK_INT(sodium_base642bin(key, sizeof(key), r.out, 44, NULL, &len, NULL,
				    sodium_base64_VARIANT_ORIGINAL), ==, 0);
	CHECK_INT(len, ==, 32);
	CHECK((key[0] & 7) == 0 && (key[31] & 0x80) == 0 && (key[31] & 0x40)); /* clamped */

	CHECK_INT(run(&r, (const char *const[]){ "pubkey", NULL }, ALICE_PRIV "\n"), ==, 0);
	CHECK_STR(r.out, ALICE_PUB "\n");
	CHECK_INT(run(&r, (const char *const[]){ "pubkey", NULL }, "  " ALICE_PRIV), ==, 0);
	CHECK_STR(r.out, ALICE_PUB "\n");
	CHECK_INT(run(&r, (const char *const[]){ "pubkey", NULL }, "not a key\n"), ==, 1);
	CHECK_CONTAINS(r.err, "44 characters of base64");
	CHECK_STR(r.out, "");
	CHECK_INT(run(&r, (const char *const[]){ "genkey", "extra", NULL }, NULL), ==, 2);
}

static void test_help_and_usage(void)
{
	struct run r;

	CHECK_INT(run(&r, (const char *const[]){ NULL }, NULL), ==, 2);
	CHECK_CONTAINS(r.err, "Usage: roam");
	CHECK_INT(run(&r, (const char *const[]){ "frobnicate", NULL }, NULL), ==, 2);
	CHECK_CONTAINS(r.err, "unknown command 'frobnicate'");
	CHECK_INT(run(&r, (const char *const[]){ "--help", NULL }, NULL), ==, 0);
	CHECK_CONTAINS(r.out, "status");
	CHECK_CONTAINS(r.out, "genkey");
	CHECK_CONTAINS(r.out, "pubkey");
	CHECK_INT(run(&r, (const char *const[]){ "help", "status", NULL }, NULL), ==, 0);
	CHECK_CONTAINS(r.out, "--json");
	CHECK_INT(run(&r, (const char *const[]){ "status", "--help", NULL }, NULL), ==, 0);
	CHECK_CONTAINS(r.out, "--socket PATH");
	CHECK_INT(run(&r, (const char *const[]){ "pubkey", "-h", NULL }, NULL), ==, 0);
	CHECK_CONTAINS(r.out, "Usage: roam pubkey");
	CHECK_INT(run(&r, (const char *const[]){ "help", "nope", NULL }, NULL), ==, 2);
	CHECK_INT(run(&r, (const char *const[]){ "status", "--bogus", NULL }, NULL), ==, 2);
	CHECK_CONTAINS(r.err, "roam status: unknown option '--bogus'");
	CHECK_INT(run(&r, (const char *const[]){ "up", "--sever", "x", NULL }, NULL), ==, 2);
	CHECK_CONTAINS(r.err, "roam up: unknown option '--sever' (did you mean --server?)\n");
	CHECK_INT(run(&r, (const char *const[]){ "up", "--server=https://h:1", NULL }, NULL), ==, 2);
	CHECK_CONTAINS(r.err, "roam up: --server needs a token");
	CHECK_INT(run(&r, (const char *const[]){ "up", "--token", "t", NULL }, NULL), ==, 2);
	CHECK_INT(run(&r, (const char *const[]){ "up", "--server", "https://h:1", "--token-file", "/nonexistent", NULL },
		      NULL), ==, 1);
	CHECK_CONTAINS(r.err, "roam up: cannot read the token from /nonexistent");
	CHECK_INT(run(&r, (const char *const[]){ "up", "--server", "https://h:1", "--token", "-", NULL }, "  \n"), ==, 1);
	CHECK_CONTAINS(r.err, "holds no token");
	CHECK_INT(run(&r, (const char *const[]){ "up", "-h", NULL }, NULL), ==, 0);
	CHECK_CONTAINS(r.out, "ROAM_TOKEN");
	CHECK_CONTAINS(r.out, "--force");
	CHECK_CONTAINS(r.out, "Exit status:");
	CHECK_INT(run(&r, (const char *const[]){ "help", NULL }, NULL), ==, 0);
	CHECK_CONTAINS(r.out, "roam help CMD");
	CHECK_INT(run(&r, (const char *const[]){ "version", NULL }, NULL), ==, 0);
	CHECK_CONTAINS(r.out, "roam ");
	CHECK_INT(run(&r, (const char *const[]){ "version", "--json", NULL }, NULL), ==, 0);
	CHECK_CONTAINS(r.out, "\"version\":");
	CHECK_INT(run(&r, (const char *const[]){ "-i", "a/b", "status", NULL }, NULL), ==, 1);
	CHECK_CONTAINS(r.err, "roam status: 'a/b' is not an interface name");
	CHECK_INT(run(&r, (const char *const[]){ "--interface", NULL }, NULL), ==, 2);
	CHECK_CONTAINS(r.err, "roam: option '--interface' needs a value");
	CHECK_INT(run(&r, (const char *const[]){ "ip", "-x", NULL }, NULL), ==, 2);
	CHECK_INT(run(&r, (const char *const[]){ "whois", NULL }, NULL), ==, 2);
	for (size_t i = 0; i < 8; i++) {
		static const char *const cmds[] = { "up", "down", "status", "ip", "whois", "version", "genkey", "pubkey" };
		CHECK_INT(run(&r, (const char *const[]){ cmds[i], "--help", NULL }, NULL), ==, 0);
		CHECK_CONTAINS(r.out, "Exit status:");
		CHECK_CONTAINS(r.out, "-h, --help");
	}
	CHECK_INT(run(&r, (const char *const[]){ "status", "--socket", NULL }, NULL), ==, 2);
	CHECK_INT(run(&r, (const char *const[]){ "--version", NULL }, NULL), ==, 0);
	CHECK_CONTAINS(r.out, "roam ");
	CHECK_INT(run(&r, (const char *const[]){ "status", "--socket", "/nonexistent/roamd.sock", NULL }, NULL), ==, 1);
	CHECK_STR(r.err, "roam status: roamd is not running (no control socket at /nonexistent/roamd.sock): "
			 "start it with `systemctl start roamd` or `roamd &`\n");
}

/* Run `roam ARGS` against a one-shot server answering reply to a status request. */
static int run_against(struct run *r, int lfd, const char *const args[], const char *reply)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	struct ctl_conn *c = NULL;
	const char *req;
	int err;

	spawn(r, args, NULL);
	CHECK_INT(poll(&p, 1, 5000), ==, 1);
	CHECK_INT(ctl_server_accept(lfd, &c), ==, 0);
	while ((err = ctl_conn_read_request(c, &req)) == -EAGAIN) {
		p.fd = ctl_conn_fd(c);
		CHECK_INT(poll(&p, 1, 5000), ==, 1);
	}
	CHECK_INT(err, ==, 0);
	CHECK_STR(req, "{\"cmd\":\"status\"}");
	CHECK_INT(ctl_conn_send_reply(c, strdup(reply), strlen(reply)), ==, 0);
	ctl_conn_free(c);
	return collect(r);
}

static int status_against(struct run *r, int lfd, const char *path, bool json, const char *reply)
{
	const char *args[] = { "status", "--socket", path, json ? "--json" : NULL, NULL };

	return run_against(r, lfd, args, reply);
}

/* A managed node's reply: status, whois and ip read it. */
static void test_managed(int lfd, const char *path)
{
	static const char reply[] =
		"{\"interface\":\"roam0\",\"public_key\":\"" ALICE_PUB "\",\"addresses\":[],"
		"\"managed\":{\"state\":\"reconnecting\",\"error\":\"server unreachable\",\"server\":\"https://s:1\","
		"\"name\":\"n1\",\"ipv6\":\"fd00:1::5/48\",\"ipv4\":\"100.64.0.5/10\",\"nat\":\"behind-nat\"},"
		"\"peers\":[{\"public_key\":\"" ALICE_PRIV "\",\"name\":\"p2\",\"online\":true,\"path\":\"direct\","
		"\"ipv6\":\"fd00:1::6/128\",\"ipv4\":\"100.64.0.6/32\",\"endpoint\":\"203.0.113.2:51820\"}]}";
	char sock_opt[128];
	struct run r;

	snprintf(sock_opt, sizeof(sock_opt), "--socket=%s", path);
	CHECK_INT(run_against(&r, lfd, (const char *const[]){ "status", sock_opt, NULL }, reply), ==, 0);
	CHECK_CONTAINS(r.out, "\nnetwork: https://s:1\n  state: reconnecting\n  error: server unreachable\n");
	CHECK_CONTAINS(r.out, "  nat: behind-nat\n");
	CHECK_CONTAINS(r.out, "\npeer: p2 (online, direct)\n");
	CHECK_INT(run_against(&r, lfd, (const char *const[]){ "whois", "p2", sock_opt, NULL }, reply), ==, 0);
	CHECK_CONTAINS(r.out, "p2 (online, direct)\n  overlay: fd00:1::6/128, 100.64.0.6/32\n");
	CHECK_INT(run_against(&r, lfd, (const char *const[]){ "whois", "fd00:1:0::6", sock_opt, "--json", NULL }, reply),
		  ==, 0);
	CHECK_CONTAINS(r.out, "\"self\":\tfalse");
	CHECK_CONTAINS(r.out, "\"name\":\t\"p2\"");
	CHECK_INT(run_against(&r, lfd, (const char *const[]){ "whois", "100.64.0.5", sock_opt, NULL }, reply), ==, 0);
	CHECK_CONTAINS(r.out, "n1 (this node, reconnecting)\n");
	CHECK_CONTAINS(r.out, "public key: " ALICE_PUB);
	CHECK_INT(run_against(&r, lfd, (const char *const[]){ "whois", "nobody", sock_opt, NULL }, reply), ==, 1);
	CHECK_CONTAINS(r.err, "roam whois: no node named or addressed 'nobody'");
	CHECK_INT(run_against(&r, lfd, (const char *const[]){ "ip", sock_opt, NULL }, reply), ==, 0);
	CHECK_STR(r.out, "100.64.0.5\nfd00:1::5\n");
	CHECK_INT(run_against(&r, lfd, (const char *const[]){ "ip", "-6", sock_opt, NULL }, reply), ==, 0);
	CHECK_STR(r.out, "fd00:1::5\n");
	CHECK_INT(run_against(&r, lfd, (const char *const[]){ "ip", "-4", "--json", sock_opt, NULL }, reply), ==, 0);
	CHECK_CONTAINS(r.out, "\"ipv4\":\t[\"100.64.0.5\"]");
	CHECK(strstr(r.out, "ipv6") == NULL);
	/* A fresh node: no server yet, no address yet. */
	static const char fresh[] = "{\"interface\":\"roam0\",\"addresses\":[],"
				    "\"managed\":{\"state\":\"not-joined\",\"server\":\"\"},\"peers\":[]}";
	CHECK_INT(run_against(&r, lfd, (const char *const[]){ "status", sock_opt, NULL }, fresh), ==, 0);
	CHECK_CONTAINS(r.out, "\nnetwork: (none: join with `roam up`)\n  state: not-joined\n");
	CHECK_INT(run_against(&r, lfd, (const char *const[]){ "ip", sock_opt, NULL }, fresh), ==, 1);
	CHECK_CONTAINS(r.err, "roam ip: this node has no overlay address yet");
}

static void test_status(void)
{
	char dir[] = "/tmp/roam-test-cli-XXXXXX", path[64], reply[2048];
	struct run r;
	int lfd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/roamd.sock", dir);
	CHECK_INT(ctl_server_open(path, &lfd), ==, 0);
	snprintf(reply, sizeof(reply),
		 "{\"interface\":\"roam0\",\"public_key\":\"" ALICE_PUB "\",\"listen_port\":51820,\"mtu\":1420,"
		 "\"addresses\":[\"10.0.0.1/24\",\"fd00::1/64\"],"
		 "\"drops\":{\"short\":0,\"bad_mac\":3,\"replay\":1,\"no_peer\":0},"
		 "\"peers\":[{\"public_key\":\"" ALICE_PRIV "\",\"endpoint\":\"203.0.113.2:51820\","
		 "\"allowed_ips\":[\"10.0.0.2/32\",\"fd00::2/128\"],\"latest_handshake\":%lld,"
		 "\"rx_bytes\":1536,\"tx_bytes\":2097152,\"rx_packets\":3,\"tx_packets\":4,\"drops\":2,"
		 "\"persistent_keepalive\":25},"
		 "{\"public_key\":\"x\",\"endpoint\":null,\"allowed_ips\":[],\"latest_handshake\":0,"
		 "\"rx_bytes\":0,\"tx_bytes\":100,\"drops\":0,\"persistent_keepalive\":0}]}",
		 (long long)time(NULL) - 65);

	CHECK_INT(status_against(&r, lfd, path, false, reply), ==, 0);
	CHECK_CONTAINS(r.out, "interface: roam0\n");
	CHECK_CONTAINS(r.out, "  public key: " ALICE_PUB "\n");
	CHECK_CONTAINS(r.out, "  listening port: 51820\n");
	CHECK_CONTAINS(r.out, "  addresses: 10.0.0.1/24, fd00::1/64\n");
	CHECK_CONTAINS(r.out, "  drops: bad_mac 3, replay 1\n");
	CHECK_CONTAINS(r.out, "\npeer: " ALICE_PRIV "\n  endpoint: 203.0.113.2:51820\n");
	CHECK_CONTAINS(r.out, "  allowed ips: 10.0.0.2/32, fd00::2/128\n");
	CHECK_CONTAINS(r.out, "  latest handshake: 1 minute, ");
	CHECK_CONTAINS(r.out, " seconds ago\n");
	CHECK_CONTAINS(r.out, "  transfer: 1.50 KiB received, 2.00 MiB sent\n");
	CHECK_CONTAINS(r.out, "  persistent keepalive: every 25 seconds\n");
	CHECK_CONTAINS(r.out, "\npeer: x\n  endpoint: (none)\n  allowed ips: (none)\n"
			      "  latest handshake: (none)\n  transfer: 0 B received, 100 B sent\n");

	CHECK_INT(status_against(&r, lfd, path, true, reply), ==, 0);
	CHECK_CONTAINS(r.out, "\"interface\":\t\"roam0\"");

	CHECK_INT(status_against(&r, lfd, path, false, "{\"error\":\"busy\"}"), ==, 1);
	CHECK_STR(r.err, "roam status: busy\n");
	CHECK_INT(status_against(&r, lfd, path, false, "[1,2"), ==, 1);
	CHECK_CONTAINS(r.err, "not a JSON object");

	test_managed(lfd, path);

	/* A socket file nobody listens on: said so, and removed. */
	ctl_server_close(lfd, NULL);
	CHECK_INT(run(&r, (const char *const[]){ "down", "--socket", path, NULL }, NULL), ==, 1);
	CHECK_CONTAINS(r.err, "roam down: roamd is not running (it left a stale control socket at ");
	CHECK_CONTAINS(r.err, "now removed): start it with");
	CHECK(access(path, F_OK) < 0);
	rmdir(dir);
}

int main(int argc, char *argv[])
{
	if (argc != 2)
		SKIP("usage: test_cli PATH-TO-roam");
	roam_path = argv[1];
	CHECK_INT(sodium_init(), >=, 0);
	test_keys();
	test_help_and_usage();
	if (geteuid() == 0)
		test_status(); /* the control socket serves root only */
	else
		fprintf(stderr, "note: not root, roam status against a fake roamd not tested\n");
	return 0;
}

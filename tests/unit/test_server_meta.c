/* roam-server's checks of the meta values it loads (server/meta.c). */
#include <errno.h>
#include <sys/socket.h>

#include "check.h"
#include "server/meta.h"

static const struct {
	const char *text;
	int ret;
	unsigned port;
} ports[] = {
	{ "443", 0, 443 }, { "1", 0, 1 }, { "65535", 0, 65535 }, { "0", -EBADMSG, 0 },
	{ "65536", -EBADMSG, 0 }, { "99999999999999999999", -EBADMSG, 0 }, { "", -EBADMSG, 0 },
	{ "-1", -EBADMSG, 0 }, { "443abc", -EBADMSG, 0 }, { " 443", -EBADMSG, 0 }, { "+443", -EBADMSG, 0 },
};

int main(void)
{
	struct ip_prefix p;

	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		uint16_t port = 7;
		int ret = server_meta_port(ports[i].text, &port);
		if (ret != ports[i].ret)
			fprintf(stderr, "port \"%s\": %d\n", ports[i].text, ret);
		CHECK_EQ(ret, ports[i].ret);
		CHECK_EQ(port, ret == 0 ? ports[i].port : 7);
	}
	CHECK_EQ(server_meta_network6("fd12:3456:789a::/48", &p), 0);
	CHECK_EQ(p.family, AF_INET6);
	CHECK_EQ(p.cidr, 48);
	CHECK_EQ(server_meta_network6("100.64.0.0/10", &p), -EBADMSG);
	CHECK_EQ(server_meta_network6("fd12::/129", &p), -EBADMSG);
	CHECK_EQ(server_meta_network6("", &p), -EBADMSG);
	return check_report("test_server_meta");
}

/* Switching to the state directory's owner, through libcap-ng:
 * capng_change_id() does setgroups/setgid/setuid with PR_SET_KEEPCAPS in the
 * one safe order and leaves exactly the capabilities we selected. */
#include <cap-ng.h>
#include <errno.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/identity.h"
#include "server/privdrop.h"

/* The value of --state/-s, as every subcommand spells it (--state DIR,
 * --state=DIR, -s DIR, -sDIR; the last one wins); "--" ends options. */
static const char *privdrop_state_arg(int argc, char *argv[])
{
	const char *dir = SERVER_STATE_DIR_DEFAULT;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if ((strcmp(argv[i], "--state") == 0 || strcmp(argv[i], "-s") == 0) && i + 1 < argc)
			dir = argv[++i];
		else if (strncmp(argv[i], "--state=", 8) == 0)
			dir = argv[i] + 8;
		else if (strncmp(argv[i], "-s", 2) == 0 && argv[i][2])
			dir = argv[i] + 2;
	}
	return dir;
}

int privdrop_to_state_owner(int argc, char *argv[])
{
	bool keep_bind = argc > 0 && strcmp(argv[0], "run") == 0;
	const char *dir = privdrop_state_arg(argc, argv);
	const struct passwd *pw;
	struct stat st;
	gid_t gid;

	if (geteuid() != 0 || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid == 0)
		return 0; /* nothing to switch to; a missing directory is the command's error */
	/* The directory's group when the owner has no passwd entry (a uid
	 * left by DynamicUser=, or a user removed since). */
	pw = getpwuid(st.st_uid);
	gid = pw ? pw->pw_gid : st.st_gid;
	capng_clear(CAPNG_SELECT_BOTH);
	if ((keep_bind && capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_BIND_SERVICE) < 0) ||
	    capng_change_id((int)st.st_uid, (int)gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) < 0 ||
	    /* never go on as root by mistake */
	    getuid() != st.st_uid || geteuid() != st.st_uid || getegid() != gid || setuid(0) == 0) {
		fprintf(stderr, "roam-server: cannot switch to %s (uid %u), the owner of %s\n",
			pw ? pw->pw_name : "the user", (unsigned)st.st_uid, dir);
		return -EPERM;
	}
	return 0;
}

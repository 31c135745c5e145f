/* Unit tests for src/source/pcicaps.c and pcilib's dump reader: every real config-space dump
 * in tests/fixtures/config is decoded by vpass and, at test time, by lspci (an independent
 * decoder with its own capability walk), and the two must agree on every fact lspci shows. */
#include "vp_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model/host.h"
#include "source/pcicaps.h"
#include "source/pcilib.h"
#include "source/source.h"
#include "util/fs.h"
#include "util/str.h"

extern char **environ;

#define CONFIG_DIR VP_TEST_FIXTURES "/config"
#define DUMP(key) CONFIG_DIR "/" key ".lspci"
#define SYSFS_FIXTURE(name) VP_TEST_FIXTURES "/sysfs/" name
#define GIB (1024ULL * 1024 * 1024)
#define MIB (1024ULL * 1024)

/* Every dump in tests/fixtures/config: test_every_dump_listed fails on one missing here. */
static const char *const dumps[] = {
    "82599-pf",  "gpu-audio", "gpu-vga", "host-bridge", "i210",        "intx-only",
    "lpc",       "no-flr",    "nvme",    "pci-dev-a",   "pci-dev-b",   "pcie-pci-bridge",
    "root-port", "sas2008",   "sata",    "smbus",       "switch-down", "switch-up",
    "usb",
};

/* ---- the dump as text, parsed here (independently of libpci) ---- */

typedef struct {
    vp_pci_addr addr;
    uint8_t bytes[4096];
    size_t len;
} raw_config;

/* The header line's address and the hex lines' bytes of an `lspci -x` dump. */
static void
raw_from_dump(const char *path, raw_config *ret)
{
    vp_autofree char *text = NULL;
    char *save = NULL;
    bool header = false;

    memset(ret, 0, sizeof(*ret));
    assert_int_equal(vp_read_file(path, 1 << 20, &text, NULL), 0);
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *colon = strchr(line, ':');
        char *end;
        unsigned long off;

        if (!header) {
            char *space = strchr(line, ' ');

            assert_non_null(space);
            *space = '\0';
            if (vp_pci_addr_parse(line, &ret->addr, NULL) < 0)
                fail_msg("%s: first line does not start with an address", path);
            header = true;
            continue;
        }
        assert_non_null(colon);
        off = strtoul(line, &end, 16);
        assert_ptr_equal(end, colon);
        for (char *p = colon + 1; *p;) {
            unsigned long b;

            while (*p == ' ')
                p++;
            if (!*p)
                break;
            b = strtoul(p, &end, 16);
            assert_true(end == p + 2 && b <= 0xff && off < sizeof(ret->bytes));
            ret->bytes[off++] = (uint8_t)b;
            p = end;
        }
        if (off > ret->len)
            ret->len = off;
    }
    assert_true(header);
}

/* Write CFG as an `lspci -xxxx` dump of ADDR to a new temporary file (returned). */
static char *
dump_from_config(const char *addr, const uint8_t *cfg, size_t len)
{
    char *path = vp_strdup("/tmp/vp_test_pcicaps_XXXXXX");
    int fd = mkstemp(path);
    FILE *f;

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fprintf(f, "%s Fixture device\n", addr);
    for (size_t off = 0; off < len; off += 16) {
        fprintf(f, off < 0x100 ? "%02zx:" : "%03zx:", off);
        for (size_t i = off; i < off + 16 && i < len; i++)
            fprintf(f, " %02x", cfg[i]);
        fputc('\n', f);
    }
    assert_int_equal(fclose(f), 0);
    return path;
}

/* ---- lspci, run here ---- */

/* The stdout of `lspci -F DUMP -vvv -nn`, run with posix_spawnp (no shell). Fails the test,
 * never skips it, when lspci is missing: it is the independent decoder. */
static char *
run_lspci(const char *dump)
{
    char prog[] = "lspci", opt_f[] = "-F", opt_v[] = "-vvv", opt_n[] = "-nn";
    char *const argv[] = {prog, opt_f, (char *)dump, opt_v, opt_n, NULL};
    posix_spawn_file_actions_t fa;
    char *out = NULL;
    size_t len = 0, alloc = 0;
    int fds[2], status, r;
    pid_t pid;

    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO), 0);
    /* Its warnings (e.g. "Unable to load libkmod resources", as -v looks up kernel modules)
     * go into the text too, so that a failure shows them; they are lines of their own. */
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO), 0);
    r = posix_spawnp(&pid, "lspci", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (r != 0) {
        close(fds[0]);
        fail_msg("cannot run lspci (%s): pciutils is required by this test, install it "
                 "(scripts/install-deps.sh)",
                 strerror(r));
    }
    for (;;) {
        ssize_t n;

        vp_grow(&out, &alloc, len + 4097, 1);
        n = read(fds[0], out + len, alloc - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        assert_true(n >= 0);
        if (n == 0)
            break;
        len += (size_t)n;
    }
    out[len] = '\0';
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        fail_msg("lspci not found in PATH: pciutils is required by this test, install it "
                 "(scripts/install-deps.sh)");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("lspci -F %s -vvv -nn failed (status 0x%x): %s", dump, (unsigned)status, out);
    if (len == 0)
        fail_msg("lspci -F %s printed nothing", dump);
    return out;
}

/* ---- what lspci says, parsed from its text ---- */

typedef struct {
    bool shown;
    bool io, mem64, prefetch;
    uint64_t base; /* 0 for <unassigned> / <ignored> */
} lspci_region;

typedef struct {
    int pin;     /* "Interrupt: pin A" -> 1; 0 without the line or for "pin ?" */
    bool bridge; /* "Bus: primary=": a bridge (type 1) or CardBus (type 2) header */
    lspci_region regions[6];
    bool rom_shown;
    uint64_t rom_base;
    unsigned caps[64]; /* offsets of the "Capabilities: [..]" lines, in order */
    size_t n_caps;
    bool msi, msix;
    unsigned msix_count;
    int pcie_type;  /* VP_PCIE_NONE without "Express" */
    int devcap_flr; /* FLReset+/- in DevCap; -1 when lspci does not print it */
    bool af;
    int af_tp, af_flr;
    bool pm;
    int no_soft_rst;
    bool acs;
    int acs_cap, acs_ctl; /* the 7 flag bits, -1 when not printed */
    bool sriov, ari;
} lspci_view;

/* 1 for "NAME+", 0 for "NAME-", -1 when LINE has neither as a word. */
static int
flag(const char *line, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = strstr(line, name); p; p = strstr(p + 1, name))
        if ((p == line || p[-1] == ' ' || p[-1] == '\t') && (p[n] == '+' || p[n] == '-'))
            return p[n] == '+';
    return -1;
}

/* ACSCap/ACSCtl flags in lspci's words, bit by bit (PCIe Base 6.0, 7.7.11.2). */
static int
acs_bits(const char *line)
{
    static const char *const names[] = {"SrcValid",    "TransBlk",   "ReqRedir",   "CmpltRedir",
                                        "UpstreamFwd", "EgressCtrl", "DirectTrans"};
    int bits = 0;

    for (size_t i = 0; i < VP_ARRAY_SIZE(names); i++) {
        int f = flag(line, names[i]);

        if (f < 0)
            fail_msg("lspci: no %s in '%s'", names[i], line);
        bits |= f << i;
    }
    return bits;
}

/* The type named after "Express (vN) " (ls-caps.c, cap_express). */
static int
express_type(const char *s)
{
    static const struct {
        const char *text;
        vp_pcie_type type;
    } types[] = {
        {"Endpoint", VP_PCIE_ENDPOINT},
        {"Legacy Endpoint", VP_PCIE_LEGACY_ENDPOINT},
        {"Root Port", VP_PCIE_ROOT_PORT},
        {"Upstream Port", VP_PCIE_UPSTREAM},
        {"Downstream Port", VP_PCIE_DOWNSTREAM},
        {"PCI-Express to PCI/PCI-X Bridge", VP_PCIE_PCIE_TO_PCI},
        {"PCI/PCI-X to PCI-Express Bridge", VP_PCIE_PCI_TO_PCIE},
        {"Root Complex Integrated Endpoint", VP_PCIE_RC_INTEGRATED},
        {"Root Complex Event Collector", VP_PCIE_RC_EVENT_COLLECTOR},
    };
    const char *p = s + strlen("Express ");
    int n;

    if (vp_startswith(p, "(v"))
        p = strchr(p, ')') + 2;
    for (size_t i = 0; i < VP_ARRAY_SIZE(types); i++) {
        size_t len = strlen(types[i].text);

        if (strncmp(p, types[i].text, len) == 0 && (p[len] == ',' || p[len] == ' '))
            return types[i].type;
    }
    if (sscanf(p, "Unknown type %d", &n) == 1)
        return n;
    fail_msg("lspci: unknown Express type in '%s'", s);
    return -1;
}

/* "Region 1: Memory at d0000000 (64-bit, prefetchable)", "Region 2: I/O ports at 2020". */
static void
parse_region(const char *body, lspci_view *v)
{
    unsigned i;
    const char *p;
    lspci_region *r;

    if (sscanf(body, "Region %u:", &i) != 1 || i >= 6)
        fail_msg("lspci: unexpected '%s'", body);
    r = &v->regions[i];
    r->shown = true;
    p = strchr(body, ':') + 2;
    if (vp_startswith(p, "I/O ports at ")) {
        r->io = true;
        p += strlen("I/O ports at ");
    } else if (vp_startswith(p, "Memory at ")) {
        p += strlen("Memory at ");
        r->mem64 = strstr(p, "(64-bit") != NULL;
        r->prefetch = strstr(p, ", prefetchable)") != NULL;
    } else {
        fail_msg("lspci: unexpected '%s'", body);
    }
    r->base = *p == '<' ? 0 : strtoull(p, NULL, 16);
}

static void
parse_lspci(char *text, lspci_view *v)
{
    bool in_devcap = false;
    char *save = NULL;

    memset(v, 0, sizeof(*v));
    v->pcie_type = VP_PCIE_NONE;
    v->devcap_flr = v->af_tp = v->af_flr = v->no_soft_rst = v->acs_cap = v->acs_ctl = -1;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t tabs = strspn(line, "\t");
        const char *body = line + tabs;

        /* DevCap's flags go on over lines indented by three tabs. */
        if (in_devcap && tabs < 3)
            in_devcap = false;
        if (tabs == 1 && vp_startswith(body, "Interrupt: pin ")) {
            char c = body[strlen("Interrupt: pin ")];

            v->pin = c == '?' ? 0 : c - 'A' + 1;
        } else if (tabs == 1 && vp_startswith(body, "Bus: primary=")) {
            v->bridge = true;
        } else if (tabs == 1 && vp_startswith(body, "Region ")) {
            parse_region(body, v);
        } else if (tabs == 1 && vp_startswith(body, "Expansion ROM at ")) {
            const char *p = body + strlen("Expansion ROM at ");

            v->rom_shown = true;
            v->rom_base = *p == '<' ? 0 : strtoull(p, NULL, 16);
        } else if (tabs == 1 && vp_startswith(body, "Capabilities: [") && strchr(body, ']')) {
            const char *name = strchr(body, ']') + 2;

            assert_true(v->n_caps < VP_ARRAY_SIZE(v->caps));
            v->caps[v->n_caps++] = (unsigned)strtoul(body + strlen("Capabilities: ["), NULL, 16);
            if (vp_startswith(name, "MSI: ")) {
                v->msi = true;
            } else if (vp_startswith(name, "MSI-X: ")) {
                v->msix = true;
                assert_non_null(strstr(name, "Count="));
                v->msix_count = (unsigned)strtoul(strstr(name, "Count=") + 6, NULL, 10);
            } else if (vp_startswith(name, "Express ")) {
                v->pcie_type = express_type(name);
            } else if (vp_startswith(name, "PCI Advanced Features")) {
                v->af = true;
            } else if (vp_startswith(name, "Power Management version")) {
                v->pm = true;
            } else if (vp_startswith(name, "Access Control Services")) {
                v->acs = true;
            } else if (vp_startswith(name, "Single Root I/O Virtualization (SR-IOV)")) {
                v->sriov = true;
            } else if (vp_startswith(name, "Alternative Routing-ID Interpretation (ARI)")) {
                v->ari = true;
            }
        } else if (tabs == 2 && vp_startswith(body, "DevCap:")) {
            in_devcap = true;
        } else if (tabs == 2 && vp_startswith(body, "AFCap:")) {
            v->af_tp = flag(body, "TP");
            v->af_flr = flag(body, "FLR");
        } else if (tabs == 2 && vp_startswith(body, "ACSCap:")) {
            v->acs_cap = acs_bits(body);
        } else if (tabs == 2 && vp_startswith(body, "ACSCtl:")) {
            v->acs_ctl = acs_bits(body);
        } else if (tabs == 2 && vp_startswith(body, "Status:") && flag(body, "NoSoftRst") >= 0) {
            v->no_soft_rst = flag(body, "NoSoftRst");
        }
        if (in_devcap && flag(body, "FLReset") >= 0)
            v->devcap_flr = flag(body, "FLReset");
    }
}

/* ---- the comparison ---- */

typedef struct {
    const char *what;
    unsigned mismatches;
} cmp_ctx;

static void
expect_eq(cmp_ctx *c, const char *field, long long vpass, long long lspci)
{
    if (vpass == lspci)
        return;
    print_message("    %s: %s: vpass %lld (0x%llx), lspci %lld (0x%llx)\n", c->what, field, vpass,
                  (unsigned long long)vpass, lspci, (unsigned long long)lspci);
    c->mismatches++;
}

/* Every fact of F (decoded by vpass from PCI) against lspci's view V and the raw bytes RAW. */
static void
compare(cmp_ctx *c, const vp_pci_facts *f, const vp_pcilib_dev *pci, const lspci_view *v,
        const raw_config *raw)
{
    bool af_flr = v->af && v->af_tp == 1 && v->af_flr == 1;

    /* What lspci's decoding can be held against only with the capability list visible. */
    assert_true(f->config_len >= VP_PCI_CONFIG_COMPLETE);

    expect_eq(c, "config_len", f->config_len, (long long)raw->len);
    expect_eq(c, "multifunction (raw byte 0x0e)", f->multifunction, raw->bytes[0x0e] >> 7);
    expect_eq(c, "bridge header (Bus: line)", f->header_type == 1 || f->header_type == 2,
              v->bridge);
    expect_eq(c, "interrupt_pin", f->interrupt_pin, v->pin);

    /* The capability walk itself: libpci's list against lspci's (ls-caps.c, ls-ecaps.c). */
    expect_eq(c, "number of capabilities", (long long)pci->n_caps, (long long)v->n_caps);
    for (size_t i = 0; i < pci->n_caps && i < v->n_caps; i++)
        expect_eq(c, "capability offset", pci->caps[i].offset, v->caps[i]);

    expect_eq(c, "has_msi", f->has_msi, v->msi);
    expect_eq(c, "has_msix", f->has_msix, v->msix);
    expect_eq(c, "msix_table_size", f->msix_table_size, v->msix ? v->msix_count : 0);
    expect_eq(c, "pcie_type", f->pcie_type, v->pcie_type);
    /* lspci prints DevCap's FLReset for endpoints only; the bit is 0 elsewhere (7.5.3.3). */
    expect_eq(c, "flr", f->flr, v->devcap_flr == 1 || af_flr);
    expect_eq(c, "af_flr", f->af_flr, af_flr);
    expect_eq(c, "has_pm", f->has_pm, v->pm);
    expect_eq(c, "pm_no_soft_reset", f->pm_no_soft_reset, v->no_soft_rst == 1);
    if (v->pm)
        expect_eq(c, "NoSoftRst printed", v->no_soft_rst >= 0, 1);
    expect_eq(c, "has_acs", f->has_acs, v->acs);
    expect_eq(c, "acs_cap", f->acs_cap & 0x7f, v->acs ? v->acs_cap : 0);
    expect_eq(c, "acs_ctrl", f->acs_ctrl & 0x7f, v->acs ? v->acs_ctl : 0);
    expect_eq(c, "has_sriov", f->has_sriov, v->sriov);
    expect_eq(c, "has_ari", f->has_ari, v->ari);

    /* BAR registers as libpci decoded them (bases and types; a 64-bit BAR takes two). */
    assert_true(pci->bases_known);
    for (size_t i = 0; i < 6; i++) {
        const vp_pcilib_bar *b = &pci->bars[i];
        const lspci_region *r = &v->regions[i];

        if (!r->shown) {
            expect_eq(c, "base of a BAR lspci does not show", (long long)b->base, 0);
            continue;
        }
        expect_eq(c, "BAR base", (long long)b->base, (long long)r->base);
        expect_eq(c, "BAR is I/O", b->io, r->io);
        expect_eq(c, "BAR is 64-bit", b->mem64, r->mem64);
        expect_eq(c, "BAR is prefetchable", b->prefetch, r->prefetch);
        if (r->mem64)
            i++; /* lspci consumed the upper half */
    }
    expect_eq(c, "ROM base", (long long)pci->rom_base, v->rom_shown ? (long long)v->rom_base : 0);
}

/* Decode dump KEY through pcilib's dump backend. */
static void
decode_dump(const char *key, raw_config *raw, vp_pcilib_dev *pci, vp_pci_facts *f)
{
    vp_autofree char *path = vp_asprintf("%s/%s.lspci", CONFIG_DIR, key);
    vp_autoptr(vp_pcilib) pl = NULL;
    vp_error err = {0};

    raw_from_dump(path, raw);
    if (vp_pcilib_open_dump(path, &pl, &err) < 0)
        fail_msg("%s", err.msg);
    if (vp_pcilib_read(pl, &raw->addr, pci, &err) < 0)
        fail_msg("%s", err.msg);
    vp_pcicaps_decode(pci, f);
}

/* One dump, every field, vpass against lspci. STATE is the dump's key. */
static void
test_dump_vs_lspci(void **state)
{
    const char *key = *state;
    vp_autofree char *path = vp_asprintf("%s/%s.lspci", CONFIG_DIR, key);
    vp_autofree char *text = NULL;
    vp_autofree raw_config *raw = vp_malloc0(sizeof(*raw));
    vp_pcilib_dev pci;
    vp_pci_facts f;
    lspci_view v;
    cmp_ctx c = {.what = key};

    decode_dump(key, raw, &pci, &f);
    text = run_lspci(path);
    parse_lspci(text, &v);
    assert_int_equal(pci.config_len, raw->len);
    assert_memory_equal(pci.config, raw->bytes, raw->len);
    compare(&c, &f, &pci, &v, raw);
    vp_pcilib_dev_clear(&pci);
    if (c.mismatches)
        fail_msg("%s: %u facts differ from lspci's", key, c.mismatches);
}

/* The comparison is not vacuous: lspci's text parses to the values the dump documents, and a
 * changed fact is caught. */
static void
test_compare_catches_differences(void **state)
{
    vp_autofree raw_config *raw = vp_malloc0(sizeof(*raw));
    vp_autofree char *text = run_lspci(DUMP("root-port"));
    vp_pcilib_dev pci;
    vp_pci_facts f, bad;
    lspci_view v;
    cmp_ctx c = {.what = "root-port (changed on purpose)"};

    (void)state;
    parse_lspci(text, &v);
    assert_true(v.acs);
    assert_int_equal(v.acs_cap, 0x1f);
    assert_int_equal(v.acs_ctl, 0);
    assert_int_equal(v.pcie_type, VP_PCIE_ROOT_PORT);
    assert_true(v.bridge);
    assert_true(v.msi);
    assert_true(v.pm);
    assert_int_equal(v.no_soft_rst, 1);
    assert_int_equal(v.n_caps, 7);
    assert_int_equal(v.caps[4], 0x100);
    assert_int_equal(v.devcap_flr, -1); /* a port: lspci prints no FLReset */

    decode_dump("root-port", raw, &pci, &f);
    compare(&c, &f, &pci, &v, raw);
    assert_int_equal(c.mismatches, 0);
    bad = f;
    bad.acs_ctrl = VP_ACS_SV;
    bad.has_msix = true;
    bad.interrupt_pin = 1;
    compare(&c, &bad, &pci, &v, raw);
    assert_int_equal(c.mismatches, 3);
    vp_pcilib_dev_clear(&pci);
}

/* The table names every dump in the directory, and every dump it names exists. */
static void
test_every_dump_listed(void **state)
{
    char **names = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(vp_list_dir(CONFIG_DIR, &names), 0);
    for (size_t i = 0; names && names[i]; i++) {
        const char *dot = strrchr(names[i], '.');
        bool listed = false;

        if (!dot || strcmp(dot, ".lspci") != 0)
            continue;
        n++;
        for (size_t j = 0; j < VP_ARRAY_SIZE(dumps); j++)
            listed |= strncmp(names[i], dumps[j], (size_t)(dot - names[i])) == 0 &&
                      strlen(dumps[j]) == (size_t)(dot - names[i]);
        if (!listed)
            fail_msg("%s/%s is not in test_pcicaps.c's table of dumps", CONFIG_DIR, names[i]);
    }
    vp_strv_free(names);
    assert_int_equal(n, VP_ARRAY_SIZE(dumps));
}

/* ---- known values, from the dumps' own documentation (lab/configs/SOURCES.md) ---- */

static void
test_known_values(void **state)
{
    vp_autofree raw_config *raw = vp_malloc0(sizeof(*raw));
    vp_pcilib_dev pci;
    vp_pci_facts f;

    (void)state;
    /* X58 root port: ACS with SV TB RR CR UF capable, all of them disabled. */
    decode_dump("root-port", raw, &pci, &f);
    assert_int_equal(f.config_len, 4096);
    assert_int_equal(f.header_type, 1);
    assert_false(f.multifunction);
    assert_int_equal(f.pcie_type, VP_PCIE_ROOT_PORT);
    assert_true(f.has_acs);
    assert_int_equal(f.acs_cap, VP_ACS_SV | VP_ACS_TB | VP_ACS_RR | VP_ACS_CR | VP_ACS_UF);
    assert_int_equal(f.acs_ctrl, 0);
    assert_true(f.has_msi);
    assert_true(f.has_pm);
    assert_true(f.pm_no_soft_reset);
    assert_int_equal(f.interrupt_pin, 0);
    vp_pcilib_dev_clear(&pci);

    /* X58 00:00.0: a host bridge by class, header type 0, yet a Root Port with ACS. */
    decode_dump("host-bridge", raw, &pci, &f);
    assert_int_equal(f.header_type, 0);
    assert_int_equal(f.pcie_type, VP_PCIE_ROOT_PORT);
    assert_true(f.has_acs);
    vp_pcilib_dev_clear(&pci);

    /* NF200 switch ports: no ACS, and with 4096 bytes that is a fact, not "unknown". */
    decode_dump("switch-up", raw, &pci, &f);
    assert_int_equal(f.config_len, 4096);
    assert_int_equal(f.pcie_type, VP_PCIE_UPSTREAM);
    assert_false(f.has_acs);
    assert_int_equal(f.header_type, 1);
    vp_pcilib_dev_clear(&pci);
    decode_dump("switch-down", raw, &pci, &f);
    assert_int_equal(f.config_len, 4096);
    assert_int_equal(f.pcie_type, VP_PCIE_DOWNSTREAM);
    assert_false(f.has_acs);
    assert_false(f.pm_no_soft_reset);
    vp_pcilib_dev_clear(&pci);

    /* 82576 PF: SR-IOV, ARI, MSI-X with 10 vectors, FLR from DevCap; multi-function (2 ports). */
    decode_dump("82599-pf", raw, &pci, &f);
    assert_true(f.has_sriov);
    assert_true(f.has_ari);
    assert_true(f.has_msix);
    assert_int_equal(f.msix_table_size, 10);
    assert_true(f.has_msi);
    assert_true(f.flr);
    assert_false(f.af_flr);
    assert_false(f.has_acs);
    assert_true(f.multifunction);
    assert_int_equal(f.pcie_type, VP_PCIE_ENDPOINT);
    assert_int_equal(f.interrupt_pin, 1);
    /* BARs from a dump: bases and types, never sizes (so none in the facts). */
    assert_true(pci.bases_known);
    assert_false(pci.bars_known);
    assert_int_equal(pci.bars[2].base, 0x2020);
    assert_true(pci.bars[2].io);
    assert_int_equal(pci.rom_base, 0xfffe0000);
    assert_false(f.bars[0].present);
    assert_int_equal(f.rom_size, 0);
    vp_pcilib_dev_clear(&pci);

    /* SAA7133: conventional PCI, INTx only (pin A), PM only, PM reset possible. */
    decode_dump("pci-dev-a", raw, &pci, &f);
    assert_int_equal(f.config_len, 256);
    assert_int_equal(f.pcie_type, VP_PCIE_NONE);
    assert_false(f.has_msi);
    assert_false(f.has_msix);
    assert_true(f.has_pm);
    assert_false(f.pm_no_soft_reset);
    assert_false(f.flr);
    assert_int_equal(f.interrupt_pin, 1);
    assert_int_equal(pci.n_caps, 1);
    vp_pcilib_dev_clear(&pci);

    /* ICH10 SATA: FLR only through the Advanced Features capability (TP+ FLR+). */
    decode_dump("sata", raw, &pci, &f);
    assert_true(f.af_flr);
    assert_true(f.flr);
    assert_int_equal(f.pcie_type, VP_PCIE_NONE);
    assert_int_equal(f.interrupt_pin, 2);
    vp_pcilib_dev_clear(&pci);

    /* RTL8111: neither DevCap FLR nor AF. */
    decode_dump("no-flr", raw, &pci, &f);
    assert_false(f.flr);
    assert_false(f.af_flr);
    assert_int_equal(f.msix_table_size, 2);
    vp_pcilib_dev_clear(&pci);

    /* SAS2008: an SR-IOV header at 0x150 outside the capability chain is not SR-IOV. */
    decode_dump("sas2008", raw, &pci, &f);
    assert_false(f.has_sriov);
    assert_true(f.flr);
    assert_int_equal(raw->bytes[0x150], 0x10);
    vp_pcilib_dev_clear(&pci);

    /* NVMe, 256 bytes: 512 MSI-X vectors; extended capabilities unseen (checks: unknown). */
    decode_dump("nvme", raw, &pci, &f);
    assert_int_equal(f.config_len, 256);
    assert_int_equal(f.msix_table_size, 512);
    assert_true(f.flr);
    assert_false(f.has_acs);
    vp_pcilib_dev_clear(&pci);

    /* Pericom bridge: PCIe-to-PCI, type 1 header. */
    decode_dump("pcie-pci-bridge", raw, &pci, &f);
    assert_int_equal(f.pcie_type, VP_PCIE_PCIE_TO_PCI);
    assert_int_equal(f.header_type, 1);
    vp_pcilib_dev_clear(&pci);
}

/* ---- short config spaces: nothing claimed absent that could not be seen ---- */

static void
test_short_config(void **state)
{
    vp_autofree raw_config *raw = vp_malloc0(sizeof(*raw));
    vp_autoptr(vp_pcilib) pl = NULL;
    vp_pcilib_dev pci;
    vp_pci_facts f;
    vp_error err = {0};
    char *path;

    (void)state;
    raw_from_dump(DUMP("root-port"), raw);

    /* 64 bytes, what a non-root reader gets: header facts only. */
    path = dump_from_config("0000:00:03.0", raw->bytes, 64);
    assert_int_equal(vp_pcilib_open_dump(path, &pl, &err), 0);
    assert_int_equal(vp_pcilib_read(pl, &raw->addr, &pci, &err), 0);
    vp_pcicaps_decode(&pci, &f);
    assert_int_equal(f.config_len, 64);
    assert_int_equal(f.header_type, 1);
    assert_int_equal(f.pcie_type, VP_PCIE_NONE);
    assert_false(f.has_msi);
    assert_false(f.has_pm);
    assert_false(f.has_acs);
    vp_pcilib_dev_clear(&pci);
    vp_pcilib_close(VP_STEAL(&pl));
    unlink(path);
    free(path);

    /* 256 bytes: standard capabilities, but ACS (extended) unseen. */
    path = dump_from_config("0000:00:03.0", raw->bytes, 256);
    assert_int_equal(vp_pcilib_open_dump(path, &pl, &err), 0);
    assert_int_equal(vp_pcilib_read(pl, &raw->addr, &pci, &err), 0);
    vp_pcicaps_decode(&pci, &f);
    assert_int_equal(f.config_len, 256);
    assert_int_equal(f.pcie_type, VP_PCIE_ROOT_PORT);
    assert_true(f.has_msi);
    assert_true(f.has_pm);
    assert_false(f.has_acs);
    assert_null(vp_pcilib_dev_find_cap(&pci, VP_PCI_EXT_CAP_ID_ACS, true));
    vp_pcilib_dev_clear(&pci);
    unlink(path);
    free(path);

    /* The decoder alone: capabilities handed to it are ignored below 256 bytes, and an
     * empty device decodes to all unknown. */
    {
        uint8_t cfg[64] = {0};
        vp_pcilib_cap caps[] = {{.id = VP_PCI_CAP_ID_MSI, .offset = 0x40}};
        vp_pcilib_dev dev = {.config = cfg, .config_len = sizeof(cfg), .caps = caps, .n_caps = 1};

        cfg[0x0e] = 0x80;
        cfg[0x3d] = 4;
        vp_pcicaps_decode(&dev, &f);
        assert_true(f.multifunction);
        assert_int_equal(f.header_type, 0);
        assert_int_equal(f.interrupt_pin, 4);
        assert_false(f.has_msi);
        memset(&dev, 0, sizeof(dev));
        vp_pcicaps_decode(&dev, &f);
        assert_int_equal(f.config_len, 0);
        assert_int_equal(f.pcie_type, VP_PCIE_NONE);
        assert_int_equal(f.interrupt_pin, 0);
        assert_null(f.reset_method);
    }
}

/* Dump files libpci cannot use, and addresses a dump does not hold. */
static void
test_dump_errors(void **state)
{
    vp_autoptr(vp_pcilib) pl = NULL;
    vp_pcilib_dev pci;
    vp_pci_addr a = {0, 0x42, 0, 0};
    vp_error err = {0};
    char path[] = "/tmp/vp_test_pcicaps_XXXXXX";
    int fd;

    (void)state;
    assert_int_equal(vp_pcilib_open_dump("/nonexistent/x.lspci", &pl, &err), -1);
    assert_int_equal(err.code, VP_E_NOTFOUND);
    assert_string_equal(err.msg,
                        "/nonexistent/x.lspci: cannot read the dump: No such file or directory");

    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "00:01.0 x\n00: 86 80 zz\n", 23), 23);
    close(fd);
    vp_error_clear(&err);
    assert_int_equal(vp_pcilib_open_dump(path, &pl, &err), -1);
    assert_int_equal(err.code, VP_E_DATA);
    assert_non_null(strstr(err.msg, "libpci: dump: Malformed line"));
    unlink(path);

    assert_int_equal(vp_pcilib_open_dump(DUMP("sata"), &pl, &err), 0);
    assert_int_equal(vp_pcilib_read(pl, &a, &pci, &err), 0);
    assert_int_equal(pci.config_len, 0);
    assert_null(pci.config);
    assert_false(pci.bases_known);
    vp_pcilib_dev_clear(&pci);
}

/* ---- the sysfs fixtures' real config spaces, through the whole sysfs source ---- */

/* Every device of a sysfs fixture with a config space: the facts the sysfs source set against
 * lspci reading the same bytes (written out as a dump). BARs: sysfs sizes against lspci's
 * reading of the registers. */
static void
check_sysfs_tree(const char *root)
{
    vp_autoptr(vp_host) h = vp_host_new();
    vp_autoptr(vp_pcilib) pl = NULL;
    vp_error err = {0};
    unsigned compared = 0, mismatches = 0;

    if (vp_source_sysfs_load(h, root, &err) < 0)
        fail_msg("%s: %s", root, err.msg);
    vp_host_finalize(h);
    assert_int_equal(vp_pcilib_open(root, &pl, &err), 0);
    for (size_t i = 0; i < h->n_devices; i++) {
        const vp_device *d = h->devices[i];
        vp_autofree raw_config *raw = vp_malloc0(sizeof(*raw));
        vp_autofree char *what = vp_asprintf("%s %s", vp_basename(root), d->addr_str);
        vp_autofree char *text = NULL;
        vp_pcilib_dev pci;
        lspci_view v;
        cmp_ctx c = {.what = what};
        char *path;

        assert_non_null(d->facts);
        assert_int_equal(vp_pcilib_read(pl, &d->addr, &pci, &err), 0);
        if (pci.config_len < VP_PCI_CONFIG_COMPLETE) {
            vp_pcilib_dev_clear(&pci);
            continue;
        }
        memcpy(raw->bytes, pci.config, pci.config_len);
        raw->len = pci.config_len;
        raw->addr = d->addr;
        path = dump_from_config(d->addr_str, pci.config, pci.config_len);
        text = run_lspci(path);
        unlink(path);
        free(path);
        parse_lspci(text, &v);
        /* The sysfs bases are the kernel's; lspci reads the registers: the same in a sane
         * tree. Sizes exist only here: a present BAR has one. */
        compare(&c, d->facts, &pci, &v, raw);
        for (size_t b = 0; b < 6; b++)
            if (d->facts->bars[b].present) {
                expect_eq(&c, "present BAR shown by lspci", v.regions[b].shown, 1);
                expect_eq(&c, "present BAR base", (long long)d->facts->bars[b].base,
                          (long long)v.regions[b].base);
            }
        mismatches += c.mismatches;
        compared++;
        vp_pcilib_dev_clear(&pci);
    }
    print_message("    %s: %u devices compared with lspci\n", root, compared);
    assert_true(compared > 0);
    if (mismatches)
        fail_msg("%s: %u facts differ from lspci's", root, mismatches);
}

static void
test_sysfs_fixtures_vs_lspci(void **state)
{
    (void)state;
    check_sysfs_tree(SYSFS_FIXTURE("gpu-guest"));
    check_sysfs_tree(SYSFS_FIXTURE("virtio-guest"));
}

/* The H100 of the gpu-guest snapshot, as the checks will see it. */
static void
test_h100_facts(void **state)
{
    vp_autoptr(vp_host) h = vp_host_new();
    vp_error err = {0};
    const vp_pci_facts *f;
    vp_device *d;

    (void)state;
    assert_int_equal(vp_source_sysfs_load(h, SYSFS_FIXTURE("gpu-guest"), &err), 0);
    vp_host_finalize(h);
    d = vp_host_find_device(h, &(vp_pci_addr){0, 0, 6, 0});
    assert_non_null(d);
    f = d->facts;
    assert_non_null(f);
    assert_int_equal(f->config_len, 4096);
    assert_int_equal(f->pcie_type, VP_PCIE_ENDPOINT);
    assert_true(f->flr);
    assert_string_equal(f->reset_method, "flr");
    assert_true(f->has_irq);
    assert_int_equal(f->irq, 41);
    assert_false(f->has_boot_vga); /* class 0302: a 3D controller, not VGA */
    assert_true(f->has_msix);
    /* NVIDIA's BAR1 is register pair 2/3: 128 GiB, 64-bit, prefetchable. */
    assert_true(f->bars[2].present);
    assert_int_equal(f->bars[2].size, 128 * GIB);
    assert_int_equal(f->bars[2].base, 0x100000000000ULL);
    assert_true(f->bars[2].is_64);
    assert_true(f->bars[2].prefetchable);
    assert_false(f->bars[2].is_io);
    assert_true(f->bars[0].present);
    assert_int_equal(f->bars[0].size, 16 * MIB);
    assert_true(f->bars[0].prefetchable); /* as the guest's register says (0x0c) */
    assert_false(f->bars[1].present);
    assert_false(f->bars[3].present);
    assert_true(f->bars[4].present);
    assert_int_equal(f->bars[4].size, 32 * MIB);
    assert_false(f->bars[5].present);
    assert_int_equal(f->rom_size, 0);

    /* Virtio devices: 256 bytes, no reset_method file, irq 0 (none assigned). */
    d = vp_host_find_device(h, &(vp_pci_addr){0, 0, 3, 0});
    assert_non_null(d);
    f = d->facts;
    assert_int_equal(f->config_len, 256);
    assert_null(f->reset_method);
    assert_true(f->has_irq);
    assert_int_equal(f->irq, 0);
    assert_int_equal(f->pcie_type, VP_PCIE_NONE);
    assert_false(f->has_acs); /* unknown: config_len 256 */
}

int
main(void)
{
    struct CMUnitTest tests[VP_ARRAY_SIZE(dumps) + 7];
    char names[VP_ARRAY_SIZE(dumps)][64];
    size_t n = 0;

    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_every_dump_listed);
    for (size_t i = 0; i < VP_ARRAY_SIZE(dumps); i++) {
        snprintf(names[i], sizeof(names[i]), "lspci:%s", dumps[i]);
        tests[n++] = (struct CMUnitTest){
            .name = names[i], .test_func = test_dump_vs_lspci, .initial_state = (void *)dumps[i]};
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_compare_catches_differences);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_known_values);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_short_config);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_dump_errors);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_sysfs_fixtures_vs_lspci);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_h100_facts);
    return _cmocka_run_group_tests("test_pcicaps", tests, n, NULL, NULL);
}

/* vfio_probe: asks the kernel's VFIO whether IOMMU groups are viable, inside the lab guest.
 *
 * Usage: vfio_probe [GROUP...]   (no argument: every /dev/vfio/N)
 *
 * For each group it prints one line:
 *   VFIO-PROBE group=N viable=0|1 attach=ok|EPERM|... iommu=ok|- dma=ok|- devices=K
 *              config=ok|bad|- reset=ok|none|fail|-
 * viable is VFIO_GROUP_FLAGS_VIABLE from VFIO_GROUP_GET_STATUS; attach is the result of
 * VFIO_GROUP_SET_CONTAINER (the kernel refuses a non-viable group with EPERM). For an attached
 * group it goes through what QEMU does (Documentation/driver-api/vfio.rst): type1v2 IOMMU,
 * map 1 MiB of DMA, a device fd for every member on vfio-pci, its config space vendor:device
 * compared with sysfs, and a device reset when the device offers one.
 *
 * Built statically (cc -static) so it runs in the busybox initramfs. Exit 0 unless the VFIO
 * container itself cannot be opened (2) or an argument is malformed (2).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define DMA_SIZE (1u << 20)

static const char *
errname(int e)
{
    switch (e) {
    case 0:
        return "ok";
    case EPERM:
        return "EPERM";
    case EBUSY:
        return "EBUSY";
    case EINVAL:
        return "EINVAL";
    case ENOENT:
        return "ENOENT";
    case ENODEV:
        return "ENODEV";
    case EACCES:
        return "EACCES";
    case ENOTTY:
        return "ENOTTY";
    case EFAULT:
        return "EFAULT";
    case ENOMEM:
        return "ENOMEM";
    default:
        return "EOTHER";
    }
}

/* Read a small sysfs file into BUF (NUL-terminated, trailing newline dropped); -1 on error. */
static int
read_small(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    if (!fgets(buf, (int)size, f)) {
        fclose(f);
        return -1;
    }
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

/* Is the PCI device NAME (0000:bb:ss.f) bound to vfio-pci? */
static int
on_vfio_pci(const char *name)
{
    char path[512], target[256];
    ssize_t n;

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", name);
    n = readlink(path, target, sizeof(target) - 1);
    if (n < 0)
        return 0;
    target[n] = '\0';
    const char *base = strrchr(target, '/');
    return strcmp(base ? base + 1 : target, "vfio-pci") == 0;
}

/* Open NAME through GROUP_FD, compare its config space ids with sysfs, reset it if it can.
 * Sets *config_bad and *reset (0 ok, 1 none, 2 fail); returns 0 or -1 when no fd came back. */
static int
probe_device(int group_fd, const char *name, int *config_bad, int *reset_state)
{
    struct vfio_device_info info = {.argsz = sizeof(info)};
    struct vfio_region_info reg = {.argsz = sizeof(reg), .index = VFIO_PCI_CONFIG_REGION_INDEX};
    char path[512], buf[32];
    uint16_t ids[2];
    int fd;

    fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, name);
    if (fd < 0) {
        fprintf(stderr, "vfio_probe: %s: VFIO_GROUP_GET_DEVICE_FD: %s\n", name, strerror(errno));
        return -1;
    }
    if (ioctl(fd, VFIO_DEVICE_GET_INFO, &info) < 0 || !(info.flags & VFIO_DEVICE_FLAGS_PCI) ||
        ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &reg) < 0 ||
        pread(fd, ids, sizeof(ids), (off_t)reg.offset) != (ssize_t)sizeof(ids)) {
        fprintf(stderr, "vfio_probe: %s: cannot read config space: %s\n", name, strerror(errno));
        *config_bad = 1;
    } else {
        unsigned long vendor = 0, device = 0;
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", name);
        if (read_small(path, buf, sizeof(buf)) == 0)
            vendor = strtoul(buf, NULL, 16);
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", name);
        if (read_small(path, buf, sizeof(buf)) == 0)
            device = strtoul(buf, NULL, 16);
        if (ids[0] != vendor || ids[1] != device) {
            fprintf(stderr, "vfio_probe: %s: config space says %04x:%04x, sysfs %04lx:%04lx\n",
                    name, ids[0], ids[1], vendor, device);
            *config_bad = 1;
        }
    }
    if (!(info.flags & VFIO_DEVICE_FLAGS_RESET)) {
        if (*reset_state == 0)
            *reset_state = 1;
    } else if (ioctl(fd, VFIO_DEVICE_RESET) < 0) {
        fprintf(stderr, "vfio_probe: %s: VFIO_DEVICE_RESET: %s\n", name, strerror(errno));
        *reset_state = 2;
    }
    close(fd);
    return 0;
}

/* Probe one group; prints its line. */
static void
probe_group(unsigned group)
{
    struct vfio_group_status status = {.argsz = sizeof(status)};
    char path[512];
    int container, group_fd, attach_err, viable;

    snprintf(path, sizeof(path), "/dev/vfio/%u", group);
    group_fd = open(path, O_RDWR);
    if (group_fd < 0) {
        printf("VFIO-PROBE group=%u viable=- open=%s\n", group, errname(errno));
        return;
    }
    if (ioctl(group_fd, VFIO_GROUP_GET_STATUS, &status) < 0) {
        printf("VFIO-PROBE group=%u viable=- status=%s\n", group, errname(errno));
        close(group_fd);
        return;
    }
    viable = !!(status.flags & VFIO_GROUP_FLAGS_VIABLE);

    container = open("/dev/vfio/vfio", O_RDWR);
    if (container < 0) {
        printf("VFIO-PROBE group=%u viable=%d attach=- container=%s\n", group, viable,
               errname(errno));
        close(group_fd);
        return;
    }
    attach_err = ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container) < 0 ? errno : 0;
    if (attach_err) {
        printf("VFIO-PROBE group=%u viable=%d attach=%s iommu=- dma=- devices=0 config=- "
               "reset=-\n",
               group, viable, errname(attach_err));
        close(group_fd);
        close(container);
        return;
    }

    const char *iommu = "ok", *dma = "-", *config = "-", *reset = "-";
    int devices = 0, config_bad = 0, reset_state = 0;
    if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
        iommu = errname(errno);
    } else {
        void *mem =
            mmap(NULL, DMA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        struct vfio_iommu_type1_dma_map map = {
            .argsz = sizeof(map),
            .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
            .vaddr = (uintptr_t)mem,
            .iova = 0,
            .size = DMA_SIZE,
        };
        if (mem == MAP_FAILED) {
            dma = "ENOMEM";
        } else if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map) < 0) {
            dma = errname(errno);
        } else {
            struct vfio_iommu_type1_dma_unmap unmap = {
                .argsz = sizeof(unmap), .iova = 0, .size = DMA_SIZE};
            dma = ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0 ? "unmap-failed" : "ok";
        }
        if (mem != MAP_FAILED)
            munmap(mem, DMA_SIZE);

        snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%u/devices", group);
        DIR *dir = opendir(path);
        struct dirent *de;
        while (dir && (de = readdir(dir))) {
            if (de->d_name[0] == '.' || !on_vfio_pci(de->d_name))
                continue;
            if (probe_device(group_fd, de->d_name, &config_bad, &reset_state) == 0)
                devices++;
            else
                config_bad = 1;
        }
        if (dir)
            closedir(dir);
        if (devices > 0) {
            config = config_bad ? "bad" : "ok";
            reset = reset_state == 0 ? "ok" : reset_state == 1 ? "none" : "fail";
        }
    }
    printf("VFIO-PROBE group=%u viable=%d attach=ok iommu=%s dma=%s devices=%d config=%s "
           "reset=%s\n",
           group, viable, iommu, dma, devices, config, reset);
    ioctl(group_fd, VFIO_GROUP_UNSET_CONTAINER);
    close(group_fd);
    close(container);
}

static int
cmp_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
    unsigned groups[256];
    size_t n = 0;
    int container;

    setvbuf(stdout, NULL, _IOLBF, 0);
    container = open("/dev/vfio/vfio", O_RDWR);
    if (container < 0) {
        printf("VFIO-PROBE container=%s\n", errname(errno));
        return 2;
    }
    if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
        ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
        printf("VFIO-PROBE container=no-type1v2\n");
        return 2;
    }
    close(container);

    if (argc > 1) {
        for (int i = 1; i < argc && n < 256; i++) {
            char *end;
            unsigned long g = strtoul(argv[i], &end, 10);
            if (*argv[i] == '\0' || *end != '\0') {
                fprintf(stderr, "vfio_probe: not a group number: %s\n", argv[i]);
                return 2;
            }
            groups[n++] = (unsigned)g;
        }
    } else {
        DIR *dir = opendir("/dev/vfio");
        struct dirent *de;
        while (dir && (de = readdir(dir)) && n < 256) {
            char *end;
            unsigned long g = strtoul(de->d_name, &end, 10);
            if (de->d_name[0] >= '0' && de->d_name[0] <= '9' && *end == '\0')
                groups[n++] = (unsigned)g;
        }
        if (dir)
            closedir(dir);
        qsort(groups, n, sizeof(groups[0]), cmp_unsigned);
    }
    for (size_t i = 0; i < n; i++)
        probe_group(groups[i]);
    return 0;
}

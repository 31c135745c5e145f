#!/bin/bash
# The full tier's scenario, run by systemd (vpass-lab.service) inside the outer guest once
# libvirtd is up. See docs/vfio-lab.md ("The full tier"). Only ever runs inside that guest.
#
# The outer guest (tests/lab/full/run_full.sh) has, behind an emulated Intel IOMMU:
#   - a two-function e1000e card on one PCIe root port: one IOMMU group ("mf");
#   - a pcie-pci-bridge with two e1000 behind it: one group with the bridge ("br");
# each NIC on its own QEMU user-mode network (slirp). The scenario:
#   boot     the kernel's groups and drivers, vpass's groups (through libvirtd)
#   neg-mf   without vpass: a domain with one e1000e function as <hostdev managed='yes'>:
#   neg-br   the same with one e1000 behind the bridge: QEMU says "not viable"
#   mf       vpass attach --group (the whole card) --config; start: the inner guest gets
#            leases and pings through both functions; after it stops,
#            vpass detach --group --reattach --config
#   dev      vpass attach --device (one e1000 behind the bridge) --config: vpass isolates the
#            sibling; start, leases, ping; vpass detach --device --reattach --config
#   hook-off vpass-hook installed (vpass hook --install), hook.conf enabling only inner-hook:
#            a domain like neg-br's still fails (the hook is off for it)
#   hook     a plain <hostdev managed='yes'> of one e1000 behind the bridge in inner-hook,
#            no vpass attach: the hook isolates the sibling at prepare, the inner guest pings,
#            the hook's release gives the sibling back
#   final    every driver as at boot
# Everything goes to the second serial port (/dev/ttyS1) as framed records, as in the fast
# tier (tests/lab/init):
#   @@ BEGIN stage=STAGE kind=KIND rc=N
#   ...
#   @@ END
# and tests/lab/full/evaluate.py on the host turns them into "VPASS-LAB RESULT" lines.
# Progress goes to the console as "VPASS-LAB LOG" lines. The guest powers off at the end.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LIBVIRT_DEFAULT_URI=qemu:///system
export HOME=/root

DATA=/dev/ttyS1
CONSOLE=/dev/ttyS0
VPASS=/usr/local/bin/vpass
TMPD=$(mktemp -d)
# Seconds an inner guest may take from start to power-off before it is destroyed.
inner_timeout=$(sed -n 's/.*vlab\.inner_timeout=\([0-9]*\).*/\1/p' /proc/cmdline)
inner_timeout=${inner_timeout:-900}
stty -F "$DATA" raw -echo 2>/dev/null

uptime_s() { cut -d' ' -f1 /proc/uptime; }
log() { echo "VPASS-LAB LOG [$(uptime_s)s] $*" > "$CONSOLE"; }

# emit STAGE KIND RC FILE: one framed record on the data port.
emit() {
  {
    echo "@@ BEGIN stage=$1 kind=$2 rc=$3"
    cat "$4"
    [ -s "$4" ] && [ -n "$(tail -c 1 "$4")" ] && echo
    echo "@@ END"
  } > "$DATA"
}

# record STAGE KIND CMD...: runs CMD, records stdout (KIND) and stderr (KIND.stderr); the exit
# status is left in $last_rc.
last_rc=0
record() {
  local stage=$1 kind=$2
  shift 2
  "$@" > "$TMPD/out" 2> "$TMPD/err"
  last_rc=$?
  emit "$stage" "$kind" "$last_rc" "$TMPD/out"
  emit "$stage" "$kind.stderr" "$last_rc" "$TMPD/err"
  return 0
}

# note STAGE KEY=VALUE...: facts the evaluator needs (addresses, groups, times).
note() {
  local stage=$1
  shift
  printf '%s\n' "$@" > "$TMPD/note"
  emit "$stage" note 0 "$TMPD/note"
}

# The kernel's view, as the fast tier records it.
kernel_devices() {
  local d a drv grp pf
  for d in /sys/bus/pci/devices/*; do
    a=${d##*/}
    drv=-; [ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
    grp=-; [ -e "$d/iommu_group" ] && grp=$(basename "$(readlink "$d/iommu_group")")
    pf=-; [ -e "$d/physfn" ] && pf=$(basename "$(readlink "$d/physfn")")
    echo "$a $(cat "$d/vendor") $(cat "$d/device") $(cat "$d/class") driver=$drv group=$grp physfn=$pf"
  done
}
kernel_groups() { find /sys/kernel/iommu_groups -type l | sort; }

# snap STAGE: the kernel's groups and devices, and vpass's groups: by default (this machine's
# sysfs, qemu:///system being local) and from libvirt's node devices.
snap() {
  record "$1" kgroups kernel_groups
  record "$1" kdevs kernel_devices
  record "$1" groups "$VPASS" --json groups
  record "$1" groups-libvirt "$VPASS" --source libvirt --json groups
}
drivers() { record "$1" kdevs kernel_devices; }

# devs VENDOR:DEVICE: addresses of the functions with those ids, in order.
devs() {
  local d
  for d in /sys/bus/pci/devices/*; do
    [ "$(cat "$d/vendor"):$(cat "$d/device")" = "0x${1%%:*}:0x${1##*:}" ] && echo "${d##*/}"
  done
}
group_of() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")" 2>/dev/null; }

# hostdev ADDR: a plain libvirt <hostdev> for one host function, as any tool would write it.
hostdev() {
  local a=$1 dom bus slot fn
  dom=${a%%:*}; bus=${a#*:}; bus=${bus%%:*}; slot=${a##*:}; slot=${slot%%.*}; fn=${a##*.}
  echo "    <hostdev mode='subsystem' type='pci' managed='yes'>"
  echo "      <source><address domain='0x$dom' bus='0x$bus' slot='0x$slot' function='0x$fn'/></source>"
  echo "    </hostdev>"
}

# define NAME [ADDR...]: define the inner guest NAME (a busybox initramfs booted directly,
# TCG, its serial console in a file), with a <hostdev> for each ADDR.
define() {
  local name=$1 a
  shift
  {
    cat <<EOF
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>/lab/inner/kernel</kernel>
    <initrd>/lab/inner/initrd.cpio</initrd>
    <cmdline>console=ttyS0 panic=-1 no_timer_check loglevel=4 cryptomgr.notests</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
    <serial type='file'>
      <source path='/var/log/libvirt/qemu/$name-serial.log'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
EOF
    for a in "$@"; do hostdev "$a"; done
    echo "  </devices>"
    echo "</domain>"
  } > "$TMPD/$name.xml"
  virsh -q define "$TMPD/$name.xml" > /dev/null
}

# boot_inner STAGE NAME [FUNCTION]: start NAME; when it starts, record the drivers and vpass's
# groups while it runs (and call FUNCTION STAGE.running), wait until it powers off (destroy it
# after $inner_timeout s), record its console.
boot_inner() {
  local stage=$1 name=$2 running=${3:-} t0 waited=0 shown=0 state
  rm -f "/var/log/libvirt/qemu/$name-serial.log"
  : > "/var/log/libvirt/qemu/$name.log"
  log "$stage: virsh start $name"
  t0=$(uptime_s)
  record "$stage" start virsh start "$name"
  if [ "$last_rc" -ne 0 ]; then
    log "$stage: $name did not start: $(head -c 300 "$TMPD/err" | tr '\n' ' ')"
    record "$stage" qemu-log cat "/var/log/libvirt/qemu/$name.log"
    return 0
  fi
  snap "$stage.running"
  [ -z "$running" ] || "$running" "$stage.running"
  log "$stage: $name runs; waiting for it to power off (at most ${inner_timeout}s)"
  while state=$(virsh domstate "$name" 2>/dev/null) && [ "$state" = running ]; do
    sleep 2
    waited=$(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%d", b - a }')
    if [ $((waited - shown)) -ge 30 ]; then
      shown=$waited
      log "$stage: $name still running after ${waited}s; its console: $(grep -ac '^INNER' "/var/log/libvirt/qemu/$name-serial.log" 2>/dev/null) INNER lines, the last line: $(tr -d '\r' < "/var/log/libvirt/qemu/$name-serial.log" 2>/dev/null | grep -a . | tail -n 1 | cut -c1-100)"
    fi
    if [ "$waited" -ge "$inner_timeout" ]; then
      log "$stage: $name timed out; destroying it"
      note "$stage" "inner_timeout=1"
      virsh destroy "$name" > /dev/null 2>&1
      break
    fi
  done
  note "$stage" "inner_seconds=$(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.0f", b - a }')"
  record "$stage" serial cat "/var/log/libvirt/qemu/$name-serial.log"
  record "$stage" qemu-log cat "/var/log/libvirt/qemu/$name.log"
  log "$stage: $name stopped; its console: $(grep -a '^INNER \(NIC\|DONE\)' "/var/log/libvirt/qemu/$name-serial.log" | tr -d '\r' | tr '\n' ' ')"
}

# vpass_cycle STAGE DOMAIN SELECTION...: define DOMAIN, vpass attach SELECTION --config, boot
# the inner guest, vpass detach SELECTION --reattach --config, undefine; the definition and the
# kernel's drivers recorded at each step under STAGE.
vpass_cycle() {
  local st=$1 dom=$2
  shift 2
  note "$st" "t0=$(uptime_s)"
  define "$dom"
  record "$st" dumpxml-before virsh dumpxml --inactive "$dom"
  log "$st: vpass attach --domain $dom $* --config"
  record "$st" attach "$VPASS" attach --domain "$dom" "$@" --config
  record "$st" dumpxml virsh dumpxml --inactive "$dom"
  drivers "$st.attached"
  boot_inner "$st" "$dom"
  drivers "$st.stopped"
  log "$st: vpass detach --domain $dom $* --reattach --config"
  record "$st" detach "$VPASS" detach --domain "$dom" "$@" --reattach --config
  record "$st" dumpxml-after virsh dumpxml --inactive "$dom"
  drivers "$st.detached"
  record "$st" undefine virsh undefine "$dom"
  note "$st" "t1=$(uptime_s)"
}

# hook_running STAGE: what the hook holds while its domain runs.
hook_running() {
  record "$1" status "$VPASS" --json hook --status
  record "$1" state cat /run/vpass/hook/inner-hook.state
}

# wait_libvirtd: until virsh answers (120 s at most).
wait_libvirtd() {
  local i=0
  until virsh -q version > /dev/null 2>&1; do
    sleep 1
    i=$((i + 1))
    [ "$i" -lt 120 ] || return 1
  done
}

# ---------------------------------------------------------------------------------------------
log "scenario starts (kernel $(uname -r))"
record boot libvirtd wait_libvirtd
record boot virsh-version virsh version
log "libvirtd answers"
record boot modprobe modprobe vfio-pci

# shellcheck disable=SC2046 # the addresses, one per word
set -- $(devs 8086:10d3)
mf_a=${1:-} mf_b=${2:-}
# shellcheck disable=SC2046
set -- $(devs 8086:100e)
br_a=${1:-} br_b=${2:-}
bridge=$(devs 1b36:000e | head -n 1)
g_mf=$(group_of "$mf_a") g_br=$(group_of "$br_a")
note boot "mf_a=$mf_a" "mf_b=$mf_b" "br_a=$br_a" "br_b=$br_b" "bridge=$bridge" \
  "g_mf=$g_mf" "g_br=$g_br" "kernel=$(uname -r)" "cmdline=$(cat /proc/cmdline)" \
  "vpass=$("$VPASS" --version 2>&1 | head -n 1)" "uptime=$(uptime_s)"
snap boot
if [ -z "$mf_a" ] || [ -z "$mf_b" ] || [ -z "$br_a" ] || [ -z "$br_b" ] || [ -z "$g_mf" ] || [ -z "$g_br" ]; then
  log "the topology is not what the scenario expects: mf=$mf_a,$mf_b br=$br_a,$br_b groups $g_mf $g_br"
else
  # -- Without vpass: one function of a shared group, libvirt's own managed='yes'.
  for s in mf br; do
    if [ "$s" = mf ]; then a=$mf_a; else a=$br_a; fi
    note "neg-$s" "t0=$(uptime_s)"
    define "inner-neg-$s" "$a"
    boot_inner "neg-$s" "inner-neg-$s"
    drivers "neg-$s.after"
    # A defined domain holds its devices (vpass attach refuses a device another domain's
    # definition has): remove it, as its user would.
    record "neg-$s" undefine virsh undefine "inner-neg-$s"
  done

  # -- vpass attach --group: the whole multifunction card.
  vpass_cycle mf inner-mf --group "$g_mf"
  # -- vpass attach --device: one e1000 behind the bridge; vpass isolates its sibling.
  vpass_cycle dev inner-dev --device "$br_a"

  # -- The hook: installed, off except for inner-hook.
  note hook "t0=$(uptime_s)"
  log "hook: vpass hook --install; enable = inner-hook; restart libvirtd"
  record hook install "$VPASS" hook --install --hook-binary /usr/local/libexec/vpass-hook
  record hook link readlink -f /etc/libvirt/hooks/qemu.d/vpass
  printf '[hook]\nenable = inner-hook\n' > /etc/vpass/hook.conf
  record hook restart systemctl restart libvirtd
  record hook libvirtd wait_libvirtd
  # A domain the hook is off for: as without vpass.
  define inner-off "$br_a"
  boot_inner hook-off inner-off
  drivers hook-off.after
  record hook-off undefine virsh undefine inner-off
  # The hook on: a plain <hostdev> of one function; the hook completes the group at prepare.
  define inner-hook "$br_a"
  record hook dumpxml virsh dumpxml --inactive inner-hook
  boot_inner hook inner-hook hook_running
  drivers hook.stopped
  record hook.stopped status "$VPASS" --json hook --status
  record hook state-dir ls -la /run/vpass/hook
  record hook undefine virsh undefine inner-hook
  note hook "t1=$(uptime_s)"
fi

snap final
record final journal journalctl -b -u libvirtd --no-pager -o short-monotonic
echo "@@ DONE uptime=$(uptime_s)" > "$DATA"
log "done, powering off"
sync
systemctl poweroff -ff

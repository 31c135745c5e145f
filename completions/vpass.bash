# bash completion for vpass(1). Commands and options come from vpass's own --help, so they
# never drift; values come from sysfs (read-only) and, for domains, from virsh.

_vpass_root() {
    local i
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == --root ]]; then
            printf '%s' "${COMP_WORDS[i + 1]}"
            return
        fi
    done
    printf '/'
}

_vpass_uri() {
    local i
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == -c || ${COMP_WORDS[i]} == --connect ]]; then
            printf '%s' "${COMP_WORDS[i + 1]}"
            return
        fi
    done
}

_vpass() {
    local cur prev cmd i words root uri
    COMPREPLY=()
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    root=$(_vpass_root)

    case $prev in
        --root)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -d -- "$cur"))
            return ;;
        --rom-file | --hook-binary)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
            return ;;
        --source) COMPREPLY=($(compgen -W "auto libvirt sysfs" -- "$cur")); return ;;
        --color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
        --format) COMPREPLY=($(compgen -W "libvirt qemu proxmox" -- "$cur")); return ;;
        --rom-bar) COMPREPLY=($(compgen -W "on off" -- "$cur")); return ;;
        --managed | --trust | --spoofchk) COMPREPLY=($(compgen -W "yes no on off" -- "$cur")); return ;;
        -c | --connect)
            COMPREPLY=($(compgen -W "qemu:///system qemu:///session test:///default" -- "$cur"))
            return ;;
        --group)
            COMPREPLY=($(compgen -W "$(ls "$root/sys/kernel/iommu_groups" 2>/dev/null)" -- "$cur"))
            return ;;
        --device)
            COMPREPLY=($(compgen -W "$(ls "$root/sys/bus/pci/devices" 2>/dev/null) $(ls "$root/sys/class/net" 2>/dev/null)" -- "$cur"))
            return ;;
        --netdev | --pf)
            COMPREPLY=($(compgen -W "$(ls "$root/sys/class/net" 2>/dev/null)" -- "$cur"))
            return ;;
        --domain)
            uri=$(_vpass_uri)
            COMPREPLY=($(compgen -W "$(virsh ${uri:+-c "$uri"} list --all --name 2>/dev/null)" -- "$cur"))
            return ;;
        --class | --driver | --numvfs | --vf | --vlan | --mac | --mmio64 | --as) return ;;
    esac

    # The command: the first word that is neither an option nor an option's value.
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            -c | --connect | --root | --source | --color) ((i++)) ;;
            -*) ;;
            *) cmd=${COMP_WORDS[i]}; break ;;
        esac
    done

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            words=$(vpass --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
        else
            words=$(vpass --help 2>/dev/null | awk '/^Commands:/ {f = 1; next} /^$/ {f = 0} f {print $1}')
        fi
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
        return
    fi
    if [[ $cmd == help ]]; then
        words=$(vpass --help 2>/dev/null | awk '/^Commands:/ {f = 1; next} /^$/ {f = 0} f {print $1}')
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
        return
    fi
    if [[ $cur == -* ]]; then
        words=$(vpass "$cmd" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
        return
    fi
    case $cmd in
        show)
            COMPREPLY=($(compgen -W "$(ls "$root/sys/kernel/iommu_groups" 2>/dev/null) $(ls "$root/sys/bus/pci/devices" 2>/dev/null)" -- "$cur")) ;;
    esac
}
complete -F _vpass vpass

#!/bin/sh
# Refuses to let the stack start with secrets copied unchanged from .env.example, empty, short,
# shared between roles, or unusable inside a connection URL. docker-compose.yml runs it as the
# one-shot `check-secrets` service that every other service waits for, so no database is ever
# initialised with a placeholder password (Postgres keeps the first one for good).
#
#   check-secrets.sh ENV_EXAMPLE NAME[:MIN_LENGTH]...
#
# Each NAME is read from the environment and compared with its `NAME=value` line in ENV_EXAMPLE.
# MIN_LENGTH defaults to 16. Prints one line per problem naming the variable, never its value,
# and exits 1 if there is any; exits 2 on a usage error.
set -eu

DEFAULT_MIN_LENGTH=16
prog=check-secrets

if [ "$#" -lt 2 ] || [ ! -r "$1" ]; then
    echo "usage: $prog ENV_EXAMPLE NAME[:MIN_LENGTH]..." >&2
    exit 2
fi
example=$1
shift

problems=0
seen_secrets=""

problem() {
    echo "$prog: $1" >&2
    problems=$((problems + 1))
}

# The value of NAME=... in the example file, quotes removed; empty when the line is absent.
placeholder_of() {
    while IFS= read -r line || [ -n "$line" ]; do
        case $line in
            "$1="*)
                value=${line#*=}
                case $value in
                    \"*\") value=${value#\"}; value=${value%\"} ;;
                    \'*\') value=${value#\'}; value=${value%\'} ;;
                esac
                printf '%s' "$value"
                return 0
                ;;
        esac
    done <"$example"
}

# Compose puts these inside connection URLs. Letters spelled out: a range such as A-Z depends on
# the shell and the locale, and may match accented letters, which URLs would need to escape.
url_safe() {
    case $1 in
        *[!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-]*) return 1 ;;
    esac
}

for spec in "$@"; do
    name=${spec%%:*}
    min=$DEFAULT_MIN_LENGTH
    [ "$name" = "$spec" ] || min=${spec#*:}
    case $name in
        "" | [0123456789]* | *[!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_]*)
            echo "$prog: not a variable name: $name" >&2
            exit 2
            ;;
    esac
    case $min in
        "" | *[!0-9]*)
            echo "$prog: not a length: $spec" >&2
            exit 2
            ;;
    esac

    # $name is a checked identifier, so eval only ever reads one variable.
    eval "is_set=\${$name+set}; value=\${$name-}"
    placeholder=$(placeholder_of "$name")
    lowered=$(printf '%s' "$value" | tr '[:upper:]' '[:lower:]')
    # The first problem of each variable only: fixing it may well fix the others.
    if [ -z "$is_set" ] || [ -z "$value" ]; then
        problem "$name is not set (see .env.example)"
    elif [ -n "$placeholder" ] && [ "$value" = "$placeholder" ]; then
        problem "$name still has its placeholder value from .env.example"
    elif [ "${lowered#*change-me}" != "$lowered" ] || [ "${lowered#*changeme}" != "$lowered" ]; then
        problem "$name still contains the placeholder text 'change-me'"
    elif [ "${#value}" -lt "$min" ]; then
        problem "$name is shorter than $min characters"
    elif ! url_safe "$value"; then
        problem "$name may only use letters, digits and - _ . ~ (it goes into URLs)"
    else
        # A password shared by two roles lets the weaker one (e.g. the dashboard's reader) act
        # as the stronger; user names may repeat.
        case $name in
            *PASSWORD* | *SECRET*)
                for other in $seen_secrets; do
                    eval "other_value=\${$other-}"
                    if [ "$value" = "$other_value" ]; then
                        problem "$name has the same value as $other; give each its own"
                    fi
                done
                seen_secrets="$seen_secrets $name"
                ;;
        esac
    fi
done

if [ "$problems" -gt 0 ]; then
    echo "$prog: $problems problem(s): edit .env (see .env.example), then run" \
        "'docker compose up -d' again" >&2
    exit 1
fi
echo "$prog: $# credential(s) set, none left at its .env.example placeholder"

#!/usr/bin/env bash
# The import rules of the house: nothing under libs/ imports services/, and no service imports
# another service. Prints every violation and fails if there is one.
set -euo pipefail
cd "$(dirname "$0")/../.."
mod=$(go list -m)
bad=0
while read -r pkg imports; do
  for imp in $imports; do
    case "$pkg" in
      "$mod"/libs/*)
        case "$imp" in "$mod"/services/*) echo "import rule: $pkg imports $imp (libs/ must not import services/)"; bad=1 ;; esac ;;
      "$mod"/services/*)
        svc=${pkg#"$mod"/services/}; svc=${svc%%/*}
        case "$imp" in
          "$mod"/services/"$svc"|"$mod"/services/"$svc"/*) ;;
          "$mod"/services/*) echo "import rule: $pkg imports $imp (services must not import each other)"; bad=1 ;;
        esac ;;
    esac
  done
done < <(go list -tags integration -deps=false -f '{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./...)
[ $bad = 0 ] && echo "import rules: ok"
exit $bad

#!/bin/sh
# Firefox ESR as geckodriver starts it, less MOZ_CRASHREPORTER_SHUTDOWN: geckodriver sets that,
# and with it Firefox quits when a web content process dies, where the crash test needs the
# browser to go on as it does for a person (the tab shows it crashed; the others carry on).
unset MOZ_CRASHREPORTER_SHUTDOWN
exec "${FIREFOX_BINARY:-/usr/bin/firefox-esr}" "$@"


using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'ews-photo' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'ews-photo'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'ews-photo' {
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Where the photos come from: ews (Exchange Web Services, --url) or graph (Microsoft Graph, --graph-url; for Exchange Online, where EWS is being retired)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx. Without it, Autodiscover finds it from --user when that is an address, else from the photo''s address (export: the list''s first address), and caches it for a day. Not used with --backend graph')
            [CompletionResult]::new('--graph-url', '--graph-url', [CompletionResultType]::ParameterName, 'The Microsoft Graph service, for --backend graph; national clouds: https://graph.microsoft.us (US Government L4), https://dod-graph.microsoft.us (L5, DoD), https://microsoftgraph.chinacloudapi.cn (21Vianet)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'The user: DOMAIN\user, user@domain or user')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user: DOMAIN\user, user@domain or user')
            [CompletionResult]::new('--domain', '--domain', [CompletionResultType]::ParameterName, 'The NTLM domain for a plain user name (not needed with DOMAIN\user or user@domain)')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin; on a terminal the password is asked for)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN)')
            [CompletionResult]::new('--auth', '--auth', [CompletionResultType]::ParameterName, 'Authentication scheme; auto picks from the server''s 401 challenge')
            [CompletionResult]::new('--spn', '--spn', [CompletionResultType]::ParameterName, 'The Kerberos service principal, e.g. HTTP/mail.contoso.com or HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL''s host, as krb5.conf maps it to a realm)')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'EWS: the operation''s form, soap (POST) or rest (GET …/s/GetUserPhoto)')
            [CompletionResult]::new('--server-version', '--server-version', [CompletionResultType]::ParameterName, 'EWS: the RequestServerVersion sent with SOAP requests')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file (added to the system''s)')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables')
            [CompletionResult]::new('--resolve', '--resolve', [CompletionResultType]::ParameterName, 'Connect to ADDR for HOST:PORT, as curl''s --resolve (repeatable; several ADDRs separated by commas, IPv6 in [brackets]); ADDR:PORT also moves the port, as curl''s --connect-to. For every request: EWS, Autodiscover, tokens')
            [CompletionResult]::new('--dns-servers', '--dns-servers', [CompletionResultType]::ParameterName, 'DNS servers for Autodiscover''s SRV lookup, as ADDR[:PORT],… (default: the system''s, from /etc/resolv.conf). Host names are resolved by the system (or --resolve)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up on a request after SECS seconds')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries when the server is busy or throttling')
            [CompletionResult]::new('--max-backoff', '--max-backoff', [CompletionResultType]::ParameterName, 'The longest wait between retries, whatever the server asks, in seconds')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of stdin')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (unsafe: anyone on the path can read the credentials)')
            [CompletionResult]::new('--allow-insecure-auth', '--allow-insecure-auth', [CompletionResultType]::ParameterName, 'Allow credentials over plain http://: Basic and Bearer can then be read by anyone on the path, an NTLM exchange captured, cracked offline or relayed, and a connection authenticated with Kerberos taken over')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Run Autodiscover even when the cache has a result for the domain (the new result is cached)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Fetch one user''s photo')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Fetch the photos of many users: parallel, resumable, incremental')
            [CompletionResult]::new('discover', 'discover', [CompletionResultType]::ParameterValue, 'Find the EWS URL of an address by Autodiscover, and print it')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'ews-photo;get' {
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Photo size: HR48x48 … HR648x648, HR1024xN, HR1920xN, or just the width')
            [CompletionResult]::new('--size', '--size', [CompletionResultType]::ParameterName, 'Photo size: HR48x48 … HR648x648, HR1024xN, HR1920xN, or just the width')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write: a file, or - for stdout. Default: EMAIL.EXT in the current folder, the extension from the real image format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Where to write: a file, or - for stdout. Default: EMAIL.EXT in the current folder, the extension from the real image format')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Convert to this format (keep: write what the server sent)')
            [CompletionResult]::new('--if-none-match', '--if-none-match', [CompletionResultType]::ParameterName, 'Send If-None-Match (Graph: compare the photo''s @odata.mediaEtag): an unchanged photo is not downloaded again (exit 0, nothing written)')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Where the photos come from: ews (Exchange Web Services, --url) or graph (Microsoft Graph, --graph-url; for Exchange Online, where EWS is being retired)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx. Without it, Autodiscover finds it from --user when that is an address, else from the photo''s address (export: the list''s first address), and caches it for a day. Not used with --backend graph')
            [CompletionResult]::new('--graph-url', '--graph-url', [CompletionResultType]::ParameterName, 'The Microsoft Graph service, for --backend graph; national clouds: https://graph.microsoft.us (US Government L4), https://dod-graph.microsoft.us (L5, DoD), https://microsoftgraph.chinacloudapi.cn (21Vianet)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'The user: DOMAIN\user, user@domain or user')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user: DOMAIN\user, user@domain or user')
            [CompletionResult]::new('--domain', '--domain', [CompletionResultType]::ParameterName, 'The NTLM domain for a plain user name (not needed with DOMAIN\user or user@domain)')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin; on a terminal the password is asked for)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN)')
            [CompletionResult]::new('--auth', '--auth', [CompletionResultType]::ParameterName, 'Authentication scheme; auto picks from the server''s 401 challenge')
            [CompletionResult]::new('--spn', '--spn', [CompletionResultType]::ParameterName, 'The Kerberos service principal, e.g. HTTP/mail.contoso.com or HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL''s host, as krb5.conf maps it to a realm)')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'EWS: the operation''s form, soap (POST) or rest (GET …/s/GetUserPhoto)')
            [CompletionResult]::new('--server-version', '--server-version', [CompletionResultType]::ParameterName, 'EWS: the RequestServerVersion sent with SOAP requests')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file (added to the system''s)')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables')
            [CompletionResult]::new('--resolve', '--resolve', [CompletionResultType]::ParameterName, 'Connect to ADDR for HOST:PORT, as curl''s --resolve (repeatable; several ADDRs separated by commas, IPv6 in [brackets]); ADDR:PORT also moves the port, as curl''s --connect-to. For every request: EWS, Autodiscover, tokens')
            [CompletionResult]::new('--dns-servers', '--dns-servers', [CompletionResultType]::ParameterName, 'DNS servers for Autodiscover''s SRV lookup, as ADDR[:PORT],… (default: the system''s, from /etc/resolv.conf). Host names are resolved by the system (or --resolve)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up on a request after SECS seconds')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries when the server is busy or throttling')
            [CompletionResult]::new('--max-backoff', '--max-backoff', [CompletionResultType]::ParameterName, 'The longest wait between retries, whatever the server asks, in seconds')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Keep an existing output file instead of replacing it')
            [CompletionResult]::new('--no-clobber', '--no-clobber', [CompletionResultType]::ParameterName, 'Keep an existing output file instead of replacing it')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON record on stdout (email, status, path, bytes, content_type, width, height, etag, expires)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of stdin')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (unsafe: anyone on the path can read the credentials)')
            [CompletionResult]::new('--allow-insecure-auth', '--allow-insecure-auth', [CompletionResultType]::ParameterName, 'Allow credentials over plain http://: Basic and Bearer can then be read by anyone on the path, an NTLM exchange captured, cracked offline or relayed, and a connection authenticated with Kerberos taken over')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Run Autodiscover even when the cache has a result for the domain (the new result is cached)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ews-photo;export' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The folder to write the photos into (created if missing)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The folder to write the photos into (created if missing)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'File name template: {email}, {local}, {domain}, {size}, {ext} (the real format''s extension). The result is made a safe file name in --dir')
            [CompletionResult]::new('--column', '--column', [CompletionResultType]::ParameterName, 'The CSV column holding the addresses (default: email, mail, PrimarySmtpAddress or UserPrincipalName; case-insensitive)')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Photo size: HR48x48 … HR648x648, HR1024xN, HR1920xN, or just the width')
            [CompletionResult]::new('--size', '--size', [CompletionResultType]::ParameterName, 'Photo size: HR48x48 … HR648x648, HR1024xN, HR1920xN, or just the width')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Convert to this format (keep: write what the server sent)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Requests in parallel, each worker on its own connection (Exchange allows 27 per user by default: EWSMaxConcurrency)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Requests in parallel, each worker on its own connection (Exchange allows 27 per user by default: EWSMaxConcurrency)')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'With --backend graph: photos per $batch request, 1 to 20 (Graph''s limit); 1 sends one request per photo. EWS always sends one request per photo')
            [CompletionResult]::new('--report', '--report', [CompletionResultType]::ParameterName, 'Write one row per address to FILE: CSV (.csv) or JSON lines (.json, .jsonl, .ndjson)')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress on stderr: a bar on a terminal, a line every few seconds otherwise (always: even with -q)')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Where the photos come from: ews (Exchange Web Services, --url) or graph (Microsoft Graph, --graph-url; for Exchange Online, where EWS is being retired)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx. Without it, Autodiscover finds it from --user when that is an address, else from the photo''s address (export: the list''s first address), and caches it for a day. Not used with --backend graph')
            [CompletionResult]::new('--graph-url', '--graph-url', [CompletionResultType]::ParameterName, 'The Microsoft Graph service, for --backend graph; national clouds: https://graph.microsoft.us (US Government L4), https://dod-graph.microsoft.us (L5, DoD), https://microsoftgraph.chinacloudapi.cn (21Vianet)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'The user: DOMAIN\user, user@domain or user')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user: DOMAIN\user, user@domain or user')
            [CompletionResult]::new('--domain', '--domain', [CompletionResultType]::ParameterName, 'The NTLM domain for a plain user name (not needed with DOMAIN\user or user@domain)')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin; on a terminal the password is asked for)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN)')
            [CompletionResult]::new('--auth', '--auth', [CompletionResultType]::ParameterName, 'Authentication scheme; auto picks from the server''s 401 challenge')
            [CompletionResult]::new('--spn', '--spn', [CompletionResultType]::ParameterName, 'The Kerberos service principal, e.g. HTTP/mail.contoso.com or HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL''s host, as krb5.conf maps it to a realm)')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'EWS: the operation''s form, soap (POST) or rest (GET …/s/GetUserPhoto)')
            [CompletionResult]::new('--server-version', '--server-version', [CompletionResultType]::ParameterName, 'EWS: the RequestServerVersion sent with SOAP requests')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file (added to the system''s)')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables')
            [CompletionResult]::new('--resolve', '--resolve', [CompletionResultType]::ParameterName, 'Connect to ADDR for HOST:PORT, as curl''s --resolve (repeatable; several ADDRs separated by commas, IPv6 in [brackets]); ADDR:PORT also moves the port, as curl''s --connect-to. For every request: EWS, Autodiscover, tokens')
            [CompletionResult]::new('--dns-servers', '--dns-servers', [CompletionResultType]::ParameterName, 'DNS servers for Autodiscover''s SRV lookup, as ADDR[:PORT],… (default: the system''s, from /etc/resolv.conf). Host names are resolved by the system (or --resolve)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up on a request after SECS seconds')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries when the server is busy or throttling')
            [CompletionResult]::new('--max-backoff', '--max-backoff', [CompletionResultType]::ParameterName, 'The longest wait between retries, whatever the server asks, in seconds')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'Fetch only photos that changed since the last run (If-None-Match with the ETags in the folder''s manifest; with Graph, the photos'' @odata.mediaEtag): unchanged photos are not downloaded or written again')
            [CompletionResult]::new('--prune', '--prune', [CompletionResultType]::ParameterName, 'With --sync: delete the file of a user whose photo was removed on the server')
            [CompletionResult]::new('--skip-existing', '--skip-existing', [CompletionResultType]::ParameterName, 'Skip addresses whose file already exists (no request at all)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of stdin')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (unsafe: anyone on the path can read the credentials)')
            [CompletionResult]::new('--allow-insecure-auth', '--allow-insecure-auth', [CompletionResultType]::ParameterName, 'Allow credentials over plain http://: Basic and Bearer can then be read by anyone on the path, an NTLM exchange captured, cracked offline or relayed, and a connection authenticated with Kerberos taken over')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Run Autodiscover even when the cache has a result for the domain (the new result is cached)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ews-photo;discover' {
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Where the photos come from: ews (Exchange Web Services, --url) or graph (Microsoft Graph, --graph-url; for Exchange Online, where EWS is being retired)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx. Without it, Autodiscover finds it from --user when that is an address, else from the photo''s address (export: the list''s first address), and caches it for a day. Not used with --backend graph')
            [CompletionResult]::new('--graph-url', '--graph-url', [CompletionResultType]::ParameterName, 'The Microsoft Graph service, for --backend graph; national clouds: https://graph.microsoft.us (US Government L4), https://dod-graph.microsoft.us (L5, DoD), https://microsoftgraph.chinacloudapi.cn (21Vianet)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'The user: DOMAIN\user, user@domain or user')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user: DOMAIN\user, user@domain or user')
            [CompletionResult]::new('--domain', '--domain', [CompletionResultType]::ParameterName, 'The NTLM domain for a plain user name (not needed with DOMAIN\user or user@domain)')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin; on a terminal the password is asked for)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN)')
            [CompletionResult]::new('--auth', '--auth', [CompletionResultType]::ParameterName, 'Authentication scheme; auto picks from the server''s 401 challenge')
            [CompletionResult]::new('--spn', '--spn', [CompletionResultType]::ParameterName, 'The Kerberos service principal, e.g. HTTP/mail.contoso.com or HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL''s host, as krb5.conf maps it to a realm)')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'EWS: the operation''s form, soap (POST) or rest (GET …/s/GetUserPhoto)')
            [CompletionResult]::new('--server-version', '--server-version', [CompletionResultType]::ParameterName, 'EWS: the RequestServerVersion sent with SOAP requests')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file (added to the system''s)')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables')
            [CompletionResult]::new('--resolve', '--resolve', [CompletionResultType]::ParameterName, 'Connect to ADDR for HOST:PORT, as curl''s --resolve (repeatable; several ADDRs separated by commas, IPv6 in [brackets]); ADDR:PORT also moves the port, as curl''s --connect-to. For every request: EWS, Autodiscover, tokens')
            [CompletionResult]::new('--dns-servers', '--dns-servers', [CompletionResultType]::ParameterName, 'DNS servers for Autodiscover''s SRV lookup, as ADDR[:PORT],… (default: the system''s, from /etc/resolv.conf). Host names are resolved by the system (or --resolve)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up on a request after SECS seconds')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries when the server is busy or throttling')
            [CompletionResult]::new('--max-backoff', '--max-backoff', [CompletionResultType]::ParameterName, 'The longest wait between retries, whatever the server asks, in seconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON record on stdout (email, status, ews_url, method, autodiscover_url, address, trusted, cached, candidates, error, exit_code)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of stdin')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (unsafe: anyone on the path can read the credentials)')
            [CompletionResult]::new('--allow-insecure-auth', '--allow-insecure-auth', [CompletionResultType]::ParameterName, 'Allow credentials over plain http://: Basic and Bearer can then be read by anyone on the path, an NTLM exchange captured, cracked offline or relayed, and a connection authenticated with Kerberos taken over')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Run Autodiscover even when the cache has a result for the domain (the new result is cached)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ews-photo;completions' {
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Where the photos come from: ews (Exchange Web Services, --url) or graph (Microsoft Graph, --graph-url; for Exchange Online, where EWS is being retired)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx. Without it, Autodiscover finds it from --user when that is an address, else from the photo''s address (export: the list''s first address), and caches it for a day. Not used with --backend graph')
            [CompletionResult]::new('--graph-url', '--graph-url', [CompletionResultType]::ParameterName, 'The Microsoft Graph service, for --backend graph; national clouds: https://graph.microsoft.us (US Government L4), https://dod-graph.microsoft.us (L5, DoD), https://microsoftgraph.chinacloudapi.cn (21Vianet)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'The user: DOMAIN\user, user@domain or user')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user: DOMAIN\user, user@domain or user')
            [CompletionResult]::new('--domain', '--domain', [CompletionResultType]::ParameterName, 'The NTLM domain for a plain user name (not needed with DOMAIN\user or user@domain)')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin; on a terminal the password is asked for)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN)')
            [CompletionResult]::new('--auth', '--auth', [CompletionResultType]::ParameterName, 'Authentication scheme; auto picks from the server''s 401 challenge')
            [CompletionResult]::new('--spn', '--spn', [CompletionResultType]::ParameterName, 'The Kerberos service principal, e.g. HTTP/mail.contoso.com or HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL''s host, as krb5.conf maps it to a realm)')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'EWS: the operation''s form, soap (POST) or rest (GET …/s/GetUserPhoto)')
            [CompletionResult]::new('--server-version', '--server-version', [CompletionResultType]::ParameterName, 'EWS: the RequestServerVersion sent with SOAP requests')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file (added to the system''s)')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables')
            [CompletionResult]::new('--resolve', '--resolve', [CompletionResultType]::ParameterName, 'Connect to ADDR for HOST:PORT, as curl''s --resolve (repeatable; several ADDRs separated by commas, IPv6 in [brackets]); ADDR:PORT also moves the port, as curl''s --connect-to. For every request: EWS, Autodiscover, tokens')
            [CompletionResult]::new('--dns-servers', '--dns-servers', [CompletionResultType]::ParameterName, 'DNS servers for Autodiscover''s SRV lookup, as ADDR[:PORT],… (default: the system''s, from /etc/resolv.conf). Host names are resolved by the system (or --resolve)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up on a request after SECS seconds')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries when the server is busy or throttling')
            [CompletionResult]::new('--max-backoff', '--max-backoff', [CompletionResultType]::ParameterName, 'The longest wait between retries, whatever the server asks, in seconds')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of stdin')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (unsafe: anyone on the path can read the credentials)')
            [CompletionResult]::new('--allow-insecure-auth', '--allow-insecure-auth', [CompletionResultType]::ParameterName, 'Allow credentials over plain http://: Basic and Bearer can then be read by anyone on the path, an NTLM exchange captured, cracked offline or relayed, and a connection authenticated with Kerberos taken over')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Run Autodiscover even when the cache has a result for the domain (the new result is cached)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ews-photo;man' {
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Where the photos come from: ews (Exchange Web Services, --url) or graph (Microsoft Graph, --graph-url; for Exchange Online, where EWS is being retired)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx. Without it, Autodiscover finds it from --user when that is an address, else from the photo''s address (export: the list''s first address), and caches it for a day. Not used with --backend graph')
            [CompletionResult]::new('--graph-url', '--graph-url', [CompletionResultType]::ParameterName, 'The Microsoft Graph service, for --backend graph; national clouds: https://graph.microsoft.us (US Government L4), https://dod-graph.microsoft.us (L5, DoD), https://microsoftgraph.chinacloudapi.cn (21Vianet)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'The user: DOMAIN\user, user@domain or user')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user: DOMAIN\user, user@domain or user')
            [CompletionResult]::new('--domain', '--domain', [CompletionResultType]::ParameterName, 'The NTLM domain for a plain user name (not needed with DOMAIN\user or user@domain)')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin; on a terminal the password is asked for)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN)')
            [CompletionResult]::new('--auth', '--auth', [CompletionResultType]::ParameterName, 'Authentication scheme; auto picks from the server''s 401 challenge')
            [CompletionResult]::new('--spn', '--spn', [CompletionResultType]::ParameterName, 'The Kerberos service principal, e.g. HTTP/mail.contoso.com or HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL''s host, as krb5.conf maps it to a realm)')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'EWS: the operation''s form, soap (POST) or rest (GET …/s/GetUserPhoto)')
            [CompletionResult]::new('--server-version', '--server-version', [CompletionResultType]::ParameterName, 'EWS: the RequestServerVersion sent with SOAP requests')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file (added to the system''s)')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables')
            [CompletionResult]::new('--resolve', '--resolve', [CompletionResultType]::ParameterName, 'Connect to ADDR for HOST:PORT, as curl''s --resolve (repeatable; several ADDRs separated by commas, IPv6 in [brackets]); ADDR:PORT also moves the port, as curl''s --connect-to. For every request: EWS, Autodiscover, tokens')
            [CompletionResult]::new('--dns-servers', '--dns-servers', [CompletionResultType]::ParameterName, 'DNS servers for Autodiscover''s SRV lookup, as ADDR[:PORT],… (default: the system''s, from /etc/resolv.conf). Host names are resolved by the system (or --resolve)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up on a request after SECS seconds')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries when the server is busy or throttling')
            [CompletionResult]::new('--max-backoff', '--max-backoff', [CompletionResultType]::ParameterName, 'The longest wait between retries, whatever the server asks, in seconds')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of stdin')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (unsafe: anyone on the path can read the credentials)')
            [CompletionResult]::new('--allow-insecure-auth', '--allow-insecure-auth', [CompletionResultType]::ParameterName, 'Allow credentials over plain http://: Basic and Bearer can then be read by anyone on the path, an NTLM exchange captured, cracked offline or relayed, and a connection authenticated with Kerberos taken over')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Run Autodiscover even when the cache has a result for the domain (the new result is cached)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ews-photo;help' {
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Fetch one user''s photo')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Fetch the photos of many users: parallel, resumable, incremental')
            [CompletionResult]::new('discover', 'discover', [CompletionResultType]::ParameterValue, 'Find the EWS URL of an address by Autodiscover, and print it')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'ews-photo;help;get' {
            break
        }
        'ews-photo;help;export' {
            break
        }
        'ews-photo;help;discover' {
            break
        }
        'ews-photo;help;completions' {
            break
        }
        'ews-photo;help;man' {
            break
        }
        'ews-photo;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}

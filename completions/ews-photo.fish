# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ews_photo_global_optspecs
    string join \n backend= url= graph-url= u/user= domain= password-file= password-stdin token-file= auth= spn= tenant= client-id= client-secret-file= certificate= device-code authority= scope= impersonate= no-token-cache protocol= server-version= ca-cert= insecure allow-insecure-auth proxy= resolve= dns-servers= no-cache timeout= retries= max-backoff= v/verbose q/quiet h/help V/version
end

function __fish_ews_photo_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ews_photo_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ews_photo_using_subcommand
    set -l cmd (__fish_ews_photo_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ews-photo -n "__fish_ews_photo_needs_command" -l backend -d 'Where the photos come from: ews (Exchange Web Services, --url) or graph (Microsoft Graph, --graph-url; for Exchange Online, where EWS is being retired)' -r -f -a "ews\t'Exchange Web Services GetUserPhoto, at --url or where Autodiscover finds it (on premises; Exchange Online until EWS is retired there)'
graph\t'Microsoft Graph, at --graph-url (Exchange Online); OAuth tokens only'"
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l url -d 'The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx. Without it, Autodiscover finds it from --user when that is an address, else from the photo\'s address (export: the list\'s first address), and caches it for a day. Not used with --backend graph' -r -f
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l graph-url -d 'The Microsoft Graph service, for --backend graph; national clouds: https://graph.microsoft.us (US Government L4), https://dod-graph.microsoft.us (L5, DoD), https://microsoftgraph.chinacloudapi.cn (21Vianet)' -r -f
complete -c ews-photo -n "__fish_ews_photo_needs_command" -s u -l user -d 'The user: DOMAIN\\user, user@domain or user' -r
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l domain -d 'The NTLM domain for a plain user name (not needed with DOMAIN\\user or user@domain)' -r
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l password-file -d 'Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin; on a terminal the password is asked for)' -r -F
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l token-file -d 'Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN)' -r -F
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l auth -d 'Authentication scheme; auto picks from the server\'s 401 challenge, oauth signs in with --tenant and --client-id' -r -f -a "auto\t'Pick from the server\'s challenge: Kerberos when Negotiate is offered and a ticket or client keytab is there, else NTLM (with --user), else Basic over https (with --user), else Bearer (with a token)'
basic\t'HTTP Basic: --user and a password'
ntlm\t'NTLMv2 (also inside Negotiate), with channel binding over https: --user and a password'
kerberos\t'Kerberos inside Negotiate, with channel binding over https: the ticket from kinit, or a client keytab (KRB5_CLIENT_KTNAME); no password'
bearer\t'OAuth 2 bearer token: EWS_TOKEN or --token-file'
oauth\t'OAuth 2 sign-in: the tool gets and renews its own tokens (--tenant, --client-id, and a client secret, a certificate or --device-code)'"
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l spn -d 'The Kerberos service principal, e.g. HTTP/mail.contoso.com or HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL\'s host, as krb5.conf maps it to a realm)' -r
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l tenant -d 'The tenant: its ID or a domain such as contoso.onmicrosoft.com (organizations or common only with --device-code)' -r
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l client-id -d 'The app registration\'s Application (client) ID' -r
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l client-secret-file -d 'Read the client secret from the first line of FILE (or use EWS_CLIENT_SECRET; never as an argument)' -r -F
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l certificate -d 'The app\'s certificate: PEM with the certificate and its RSA key (PKCS#8 or PKCS#1), or a PKCS#12 .pfx (password from EWS_CERTIFICATE_PASSWORD, or asked for)' -r -F
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l authority -d 'The sign-in server' -r -f
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l scope -d 'The scope to ask for. Default: https://outlook.office365.com/.default for an app, …/EWS.AccessAsUser.All offline_access for --device-code; on premises (Hybrid Modern Auth) the EWS URL\'s https://host instead of https://outlook.office365.com; with --backend graph, the --graph-url\'s /.default, or …/ProfilePhoto.Read.All offline_access' -r
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l impersonate -d 'The mailbox EWS requests act as (ExchangeImpersonation and X-AnchorMailbox): needed by an app\'s own token over EWS (not used with --backend graph)' -r
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l protocol -d 'EWS: the operation\'s form, soap (POST) or rest (GET …/s/GetUserPhoto)' -r -f -a "soap\t'POST a SOAP envelope to the EWS URL'
rest\t'GET {EWS URL}/s/GetUserPhoto?email=…&size=…'"
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l server-version -d 'EWS: the RequestServerVersion sent with SOAP requests' -r
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l ca-cert -d 'Also trust the CA certificates in this PEM file (added to the system\'s)' -r -F
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l proxy -d 'Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables' -r -f
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l resolve -d 'Connect to ADDR for HOST:PORT, as curl\'s --resolve (repeatable; several ADDRs separated by commas, IPv6 in [brackets]); ADDR:PORT also moves the port, as curl\'s --connect-to. For every request: EWS, Autodiscover, tokens' -r
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l dns-servers -d 'DNS servers for Autodiscover\'s SRV lookup, as ADDR[:PORT],… (default: the system\'s, from /etc/resolv.conf). Host names are resolved by the system (or --resolve)' -r
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l timeout -d 'Give up on a request after SECS seconds' -r
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l retries -d 'Retries when the server is busy or throttling' -r
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l max-backoff -d 'The longest wait between retries, whatever the server asks, in seconds' -r
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l password-stdin -d 'Read the password from the first line of stdin'
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l device-code -d 'Sign in as a user with the device-code flow (the code and URL are shown on stderr)'
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l no-token-cache -d 'Neither read nor write the token cache'
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l insecure -d 'Do not verify the server\'s TLS certificate (unsafe: anyone on the path can read the credentials)'
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l allow-insecure-auth -d 'Allow credentials over plain http://: Basic and Bearer can then be read by anyone on the path, an NTLM exchange captured, cracked offline or relayed, and a connection authenticated with Kerberos taken over'
complete -c ews-photo -n "__fish_ews_photo_needs_command" -l no-cache -d 'Run Autodiscover even when the cache has a result for the domain (the new result is cached)'
complete -c ews-photo -n "__fish_ews_photo_needs_command" -s v -l verbose -d 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted'
complete -c ews-photo -n "__fish_ews_photo_needs_command" -s q -l quiet -d 'Print nothing but errors'
complete -c ews-photo -n "__fish_ews_photo_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ews-photo -n "__fish_ews_photo_needs_command" -s V -l version -d 'Print version'
complete -c ews-photo -n "__fish_ews_photo_needs_command" -f -a "get" -d 'Fetch one user\'s photo'
complete -c ews-photo -n "__fish_ews_photo_needs_command" -f -a "export" -d 'Fetch the photos of many users: parallel, resumable, incremental'
complete -c ews-photo -n "__fish_ews_photo_needs_command" -f -a "discover" -d 'Find the EWS URL of an address by Autodiscover, and print it'
complete -c ews-photo -n "__fish_ews_photo_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c ews-photo -n "__fish_ews_photo_needs_command" -f -a "man" -d 'Print the man page (roff)'
complete -c ews-photo -n "__fish_ews_photo_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -s s -l size -d 'Photo size: HR48x48 … HR648x648, HR1024xN, HR1920xN, or just the width' -r -f -a "HR48x48\t''
HR64x64\t''
HR96x96\t''
HR120x120\t''
HR240x240\t''
HR360x360\t''
HR432x432\t''
HR504x504\t''
HR648x648\t''
HR1024xN\t''
HR1920xN\t''"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -s o -l output -d 'Where to write: a file, or - for stdout. Default: EMAIL.EXT in the current folder, the extension from the real image format' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l format -d 'Convert to this format (keep: write what the server sent)' -r -f -a "keep\t'Whatever the server sent (normally JPEG)'
jpeg\t'JPEG'
png\t'PNG'
webp\t'WebP (lossless)'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l if-none-match -d 'Send If-None-Match (Graph: compare the photo\'s @odata.mediaEtag): an unchanged photo is not downloaded again (exit 0, nothing written)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l backend -d 'Where the photos come from: ews (Exchange Web Services, --url) or graph (Microsoft Graph, --graph-url; for Exchange Online, where EWS is being retired)' -r -f -a "ews\t'Exchange Web Services GetUserPhoto, at --url or where Autodiscover finds it (on premises; Exchange Online until EWS is retired there)'
graph\t'Microsoft Graph, at --graph-url (Exchange Online); OAuth tokens only'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l url -d 'The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx. Without it, Autodiscover finds it from --user when that is an address, else from the photo\'s address (export: the list\'s first address), and caches it for a day. Not used with --backend graph' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l graph-url -d 'The Microsoft Graph service, for --backend graph; national clouds: https://graph.microsoft.us (US Government L4), https://dod-graph.microsoft.us (L5, DoD), https://microsoftgraph.chinacloudapi.cn (21Vianet)' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -s u -l user -d 'The user: DOMAIN\\user, user@domain or user' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l domain -d 'The NTLM domain for a plain user name (not needed with DOMAIN\\user or user@domain)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l password-file -d 'Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin; on a terminal the password is asked for)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l token-file -d 'Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l auth -d 'Authentication scheme; auto picks from the server\'s 401 challenge, oauth signs in with --tenant and --client-id' -r -f -a "auto\t'Pick from the server\'s challenge: Kerberos when Negotiate is offered and a ticket or client keytab is there, else NTLM (with --user), else Basic over https (with --user), else Bearer (with a token)'
basic\t'HTTP Basic: --user and a password'
ntlm\t'NTLMv2 (also inside Negotiate), with channel binding over https: --user and a password'
kerberos\t'Kerberos inside Negotiate, with channel binding over https: the ticket from kinit, or a client keytab (KRB5_CLIENT_KTNAME); no password'
bearer\t'OAuth 2 bearer token: EWS_TOKEN or --token-file'
oauth\t'OAuth 2 sign-in: the tool gets and renews its own tokens (--tenant, --client-id, and a client secret, a certificate or --device-code)'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l spn -d 'The Kerberos service principal, e.g. HTTP/mail.contoso.com or HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL\'s host, as krb5.conf maps it to a realm)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l tenant -d 'The tenant: its ID or a domain such as contoso.onmicrosoft.com (organizations or common only with --device-code)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l client-id -d 'The app registration\'s Application (client) ID' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l client-secret-file -d 'Read the client secret from the first line of FILE (or use EWS_CLIENT_SECRET; never as an argument)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l certificate -d 'The app\'s certificate: PEM with the certificate and its RSA key (PKCS#8 or PKCS#1), or a PKCS#12 .pfx (password from EWS_CERTIFICATE_PASSWORD, or asked for)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l authority -d 'The sign-in server' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l scope -d 'The scope to ask for. Default: https://outlook.office365.com/.default for an app, …/EWS.AccessAsUser.All offline_access for --device-code; on premises (Hybrid Modern Auth) the EWS URL\'s https://host instead of https://outlook.office365.com; with --backend graph, the --graph-url\'s /.default, or …/ProfilePhoto.Read.All offline_access' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l impersonate -d 'The mailbox EWS requests act as (ExchangeImpersonation and X-AnchorMailbox): needed by an app\'s own token over EWS (not used with --backend graph)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l protocol -d 'EWS: the operation\'s form, soap (POST) or rest (GET …/s/GetUserPhoto)' -r -f -a "soap\t'POST a SOAP envelope to the EWS URL'
rest\t'GET {EWS URL}/s/GetUserPhoto?email=…&size=…'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l server-version -d 'EWS: the RequestServerVersion sent with SOAP requests' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l ca-cert -d 'Also trust the CA certificates in this PEM file (added to the system\'s)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l proxy -d 'Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l resolve -d 'Connect to ADDR for HOST:PORT, as curl\'s --resolve (repeatable; several ADDRs separated by commas, IPv6 in [brackets]); ADDR:PORT also moves the port, as curl\'s --connect-to. For every request: EWS, Autodiscover, tokens' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l dns-servers -d 'DNS servers for Autodiscover\'s SRV lookup, as ADDR[:PORT],… (default: the system\'s, from /etc/resolv.conf). Host names are resolved by the system (or --resolve)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l timeout -d 'Give up on a request after SECS seconds' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l retries -d 'Retries when the server is busy or throttling' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l max-backoff -d 'The longest wait between retries, whatever the server asks, in seconds' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -s n -l no-clobber -d 'Keep an existing output file instead of replacing it'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l json -d 'Print one JSON record on stdout (email, status, path, bytes, content_type, width, height, etag, expires)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l password-stdin -d 'Read the password from the first line of stdin'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l device-code -d 'Sign in as a user with the device-code flow (the code and URL are shown on stderr)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l no-token-cache -d 'Neither read nor write the token cache'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l insecure -d 'Do not verify the server\'s TLS certificate (unsafe: anyone on the path can read the credentials)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l allow-insecure-auth -d 'Allow credentials over plain http://: Basic and Bearer can then be read by anyone on the path, an NTLM exchange captured, cracked offline or relayed, and a connection authenticated with Kerberos taken over'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -l no-cache -d 'Run Autodiscover even when the cache has a result for the domain (the new result is cached)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -s v -l verbose -d 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -s q -l quiet -d 'Print nothing but errors'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand get" -s V -l version -d 'Print version'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -s d -l dir -d 'The folder to write the photos into (created if missing)' -r -f -a "(__fish_complete_directories)"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l name -d 'File name template: {email}, {local}, {domain}, {size}, {ext} (the real format\'s extension). The result is made a safe file name in --dir' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l column -d 'The CSV column holding the addresses (default: email, mail, PrimarySmtpAddress or UserPrincipalName; case-insensitive)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -s s -l size -d 'Photo size: HR48x48 … HR648x648, HR1024xN, HR1920xN, or just the width' -r -f -a "HR48x48\t''
HR64x64\t''
HR96x96\t''
HR120x120\t''
HR240x240\t''
HR360x360\t''
HR432x432\t''
HR504x504\t''
HR648x648\t''
HR1024xN\t''
HR1920xN\t''"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l format -d 'Convert to this format (keep: write what the server sent)' -r -f -a "keep\t'Whatever the server sent (normally JPEG)'
jpeg\t'JPEG'
png\t'PNG'
webp\t'WebP (lossless)'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -s j -l jobs -d 'Requests in parallel, each worker on its own connection (Exchange allows 27 per user by default: EWSMaxConcurrency)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l batch -d 'With --backend graph: photos per $batch request, 1 to 20 (Graph\'s limit); 1 sends one request per photo. EWS always sends one request per photo' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l report -d 'Write one row per address to FILE: CSV (.csv) or JSON lines (.json, .jsonl, .ndjson)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l progress -d 'Progress on stderr: a bar on a terminal, a line every few seconds otherwise (always: even with -q)' -r -f -a "auto\t'A bar on a terminal, periodic lines otherwise; nothing with -q'
always\t'As auto, even with -q'
never\t'No progress (the summary is still printed, unless -q)'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l backend -d 'Where the photos come from: ews (Exchange Web Services, --url) or graph (Microsoft Graph, --graph-url; for Exchange Online, where EWS is being retired)' -r -f -a "ews\t'Exchange Web Services GetUserPhoto, at --url or where Autodiscover finds it (on premises; Exchange Online until EWS is retired there)'
graph\t'Microsoft Graph, at --graph-url (Exchange Online); OAuth tokens only'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l url -d 'The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx. Without it, Autodiscover finds it from --user when that is an address, else from the photo\'s address (export: the list\'s first address), and caches it for a day. Not used with --backend graph' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l graph-url -d 'The Microsoft Graph service, for --backend graph; national clouds: https://graph.microsoft.us (US Government L4), https://dod-graph.microsoft.us (L5, DoD), https://microsoftgraph.chinacloudapi.cn (21Vianet)' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -s u -l user -d 'The user: DOMAIN\\user, user@domain or user' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l domain -d 'The NTLM domain for a plain user name (not needed with DOMAIN\\user or user@domain)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l password-file -d 'Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin; on a terminal the password is asked for)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l token-file -d 'Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l auth -d 'Authentication scheme; auto picks from the server\'s 401 challenge, oauth signs in with --tenant and --client-id' -r -f -a "auto\t'Pick from the server\'s challenge: Kerberos when Negotiate is offered and a ticket or client keytab is there, else NTLM (with --user), else Basic over https (with --user), else Bearer (with a token)'
basic\t'HTTP Basic: --user and a password'
ntlm\t'NTLMv2 (also inside Negotiate), with channel binding over https: --user and a password'
kerberos\t'Kerberos inside Negotiate, with channel binding over https: the ticket from kinit, or a client keytab (KRB5_CLIENT_KTNAME); no password'
bearer\t'OAuth 2 bearer token: EWS_TOKEN or --token-file'
oauth\t'OAuth 2 sign-in: the tool gets and renews its own tokens (--tenant, --client-id, and a client secret, a certificate or --device-code)'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l spn -d 'The Kerberos service principal, e.g. HTTP/mail.contoso.com or HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL\'s host, as krb5.conf maps it to a realm)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l tenant -d 'The tenant: its ID or a domain such as contoso.onmicrosoft.com (organizations or common only with --device-code)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l client-id -d 'The app registration\'s Application (client) ID' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l client-secret-file -d 'Read the client secret from the first line of FILE (or use EWS_CLIENT_SECRET; never as an argument)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l certificate -d 'The app\'s certificate: PEM with the certificate and its RSA key (PKCS#8 or PKCS#1), or a PKCS#12 .pfx (password from EWS_CERTIFICATE_PASSWORD, or asked for)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l authority -d 'The sign-in server' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l scope -d 'The scope to ask for. Default: https://outlook.office365.com/.default for an app, …/EWS.AccessAsUser.All offline_access for --device-code; on premises (Hybrid Modern Auth) the EWS URL\'s https://host instead of https://outlook.office365.com; with --backend graph, the --graph-url\'s /.default, or …/ProfilePhoto.Read.All offline_access' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l impersonate -d 'The mailbox EWS requests act as (ExchangeImpersonation and X-AnchorMailbox): needed by an app\'s own token over EWS (not used with --backend graph)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l protocol -d 'EWS: the operation\'s form, soap (POST) or rest (GET …/s/GetUserPhoto)' -r -f -a "soap\t'POST a SOAP envelope to the EWS URL'
rest\t'GET {EWS URL}/s/GetUserPhoto?email=…&size=…'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l server-version -d 'EWS: the RequestServerVersion sent with SOAP requests' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l ca-cert -d 'Also trust the CA certificates in this PEM file (added to the system\'s)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l proxy -d 'Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l resolve -d 'Connect to ADDR for HOST:PORT, as curl\'s --resolve (repeatable; several ADDRs separated by commas, IPv6 in [brackets]); ADDR:PORT also moves the port, as curl\'s --connect-to. For every request: EWS, Autodiscover, tokens' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l dns-servers -d 'DNS servers for Autodiscover\'s SRV lookup, as ADDR[:PORT],… (default: the system\'s, from /etc/resolv.conf). Host names are resolved by the system (or --resolve)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l timeout -d 'Give up on a request after SECS seconds' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l retries -d 'Retries when the server is busy or throttling' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l max-backoff -d 'The longest wait between retries, whatever the server asks, in seconds' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l sync -d 'Fetch only photos that changed since the last run (If-None-Match with the ETags in the folder\'s manifest; with Graph, the photos\' @odata.mediaEtag): unchanged photos are not downloaded or written again'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l prune -d 'With --sync: delete the file of a user whose photo was removed on the server'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l skip-existing -d 'Skip addresses whose file already exists (no request at all)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l password-stdin -d 'Read the password from the first line of stdin'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l device-code -d 'Sign in as a user with the device-code flow (the code and URL are shown on stderr)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l no-token-cache -d 'Neither read nor write the token cache'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l insecure -d 'Do not verify the server\'s TLS certificate (unsafe: anyone on the path can read the credentials)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l allow-insecure-auth -d 'Allow credentials over plain http://: Basic and Bearer can then be read by anyone on the path, an NTLM exchange captured, cracked offline or relayed, and a connection authenticated with Kerberos taken over'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -l no-cache -d 'Run Autodiscover even when the cache has a result for the domain (the new result is cached)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -s v -l verbose -d 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -s q -l quiet -d 'Print nothing but errors'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand export" -s V -l version -d 'Print version'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l backend -d 'Where the photos come from: ews (Exchange Web Services, --url) or graph (Microsoft Graph, --graph-url; for Exchange Online, where EWS is being retired)' -r -f -a "ews\t'Exchange Web Services GetUserPhoto, at --url or where Autodiscover finds it (on premises; Exchange Online until EWS is retired there)'
graph\t'Microsoft Graph, at --graph-url (Exchange Online); OAuth tokens only'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l url -d 'The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx. Without it, Autodiscover finds it from --user when that is an address, else from the photo\'s address (export: the list\'s first address), and caches it for a day. Not used with --backend graph' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l graph-url -d 'The Microsoft Graph service, for --backend graph; national clouds: https://graph.microsoft.us (US Government L4), https://dod-graph.microsoft.us (L5, DoD), https://microsoftgraph.chinacloudapi.cn (21Vianet)' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -s u -l user -d 'The user: DOMAIN\\user, user@domain or user' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l domain -d 'The NTLM domain for a plain user name (not needed with DOMAIN\\user or user@domain)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l password-file -d 'Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin; on a terminal the password is asked for)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l token-file -d 'Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l auth -d 'Authentication scheme; auto picks from the server\'s 401 challenge, oauth signs in with --tenant and --client-id' -r -f -a "auto\t'Pick from the server\'s challenge: Kerberos when Negotiate is offered and a ticket or client keytab is there, else NTLM (with --user), else Basic over https (with --user), else Bearer (with a token)'
basic\t'HTTP Basic: --user and a password'
ntlm\t'NTLMv2 (also inside Negotiate), with channel binding over https: --user and a password'
kerberos\t'Kerberos inside Negotiate, with channel binding over https: the ticket from kinit, or a client keytab (KRB5_CLIENT_KTNAME); no password'
bearer\t'OAuth 2 bearer token: EWS_TOKEN or --token-file'
oauth\t'OAuth 2 sign-in: the tool gets and renews its own tokens (--tenant, --client-id, and a client secret, a certificate or --device-code)'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l spn -d 'The Kerberos service principal, e.g. HTTP/mail.contoso.com or HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL\'s host, as krb5.conf maps it to a realm)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l tenant -d 'The tenant: its ID or a domain such as contoso.onmicrosoft.com (organizations or common only with --device-code)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l client-id -d 'The app registration\'s Application (client) ID' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l client-secret-file -d 'Read the client secret from the first line of FILE (or use EWS_CLIENT_SECRET; never as an argument)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l certificate -d 'The app\'s certificate: PEM with the certificate and its RSA key (PKCS#8 or PKCS#1), or a PKCS#12 .pfx (password from EWS_CERTIFICATE_PASSWORD, or asked for)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l authority -d 'The sign-in server' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l scope -d 'The scope to ask for. Default: https://outlook.office365.com/.default for an app, …/EWS.AccessAsUser.All offline_access for --device-code; on premises (Hybrid Modern Auth) the EWS URL\'s https://host instead of https://outlook.office365.com; with --backend graph, the --graph-url\'s /.default, or …/ProfilePhoto.Read.All offline_access' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l impersonate -d 'The mailbox EWS requests act as (ExchangeImpersonation and X-AnchorMailbox): needed by an app\'s own token over EWS (not used with --backend graph)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l protocol -d 'EWS: the operation\'s form, soap (POST) or rest (GET …/s/GetUserPhoto)' -r -f -a "soap\t'POST a SOAP envelope to the EWS URL'
rest\t'GET {EWS URL}/s/GetUserPhoto?email=…&size=…'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l server-version -d 'EWS: the RequestServerVersion sent with SOAP requests' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l ca-cert -d 'Also trust the CA certificates in this PEM file (added to the system\'s)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l proxy -d 'Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l resolve -d 'Connect to ADDR for HOST:PORT, as curl\'s --resolve (repeatable; several ADDRs separated by commas, IPv6 in [brackets]); ADDR:PORT also moves the port, as curl\'s --connect-to. For every request: EWS, Autodiscover, tokens' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l dns-servers -d 'DNS servers for Autodiscover\'s SRV lookup, as ADDR[:PORT],… (default: the system\'s, from /etc/resolv.conf). Host names are resolved by the system (or --resolve)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l timeout -d 'Give up on a request after SECS seconds' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l retries -d 'Retries when the server is busy or throttling' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l max-backoff -d 'The longest wait between retries, whatever the server asks, in seconds' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l json -d 'Print one JSON record on stdout (email, status, ews_url, method, autodiscover_url, address, trusted, cached, candidates, error, exit_code)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l password-stdin -d 'Read the password from the first line of stdin'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l device-code -d 'Sign in as a user with the device-code flow (the code and URL are shown on stderr)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l no-token-cache -d 'Neither read nor write the token cache'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l insecure -d 'Do not verify the server\'s TLS certificate (unsafe: anyone on the path can read the credentials)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l allow-insecure-auth -d 'Allow credentials over plain http://: Basic and Bearer can then be read by anyone on the path, an NTLM exchange captured, cracked offline or relayed, and a connection authenticated with Kerberos taken over'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -l no-cache -d 'Run Autodiscover even when the cache has a result for the domain (the new result is cached)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -s v -l verbose -d 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -s q -l quiet -d 'Print nothing but errors'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand discover" -s V -l version -d 'Print version'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l backend -d 'Where the photos come from: ews (Exchange Web Services, --url) or graph (Microsoft Graph, --graph-url; for Exchange Online, where EWS is being retired)' -r -f -a "ews\t'Exchange Web Services GetUserPhoto, at --url or where Autodiscover finds it (on premises; Exchange Online until EWS is retired there)'
graph\t'Microsoft Graph, at --graph-url (Exchange Online); OAuth tokens only'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l url -d 'The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx. Without it, Autodiscover finds it from --user when that is an address, else from the photo\'s address (export: the list\'s first address), and caches it for a day. Not used with --backend graph' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l graph-url -d 'The Microsoft Graph service, for --backend graph; national clouds: https://graph.microsoft.us (US Government L4), https://dod-graph.microsoft.us (L5, DoD), https://microsoftgraph.chinacloudapi.cn (21Vianet)' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -s u -l user -d 'The user: DOMAIN\\user, user@domain or user' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l domain -d 'The NTLM domain for a plain user name (not needed with DOMAIN\\user or user@domain)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l password-file -d 'Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin; on a terminal the password is asked for)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l token-file -d 'Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l auth -d 'Authentication scheme; auto picks from the server\'s 401 challenge, oauth signs in with --tenant and --client-id' -r -f -a "auto\t'Pick from the server\'s challenge: Kerberos when Negotiate is offered and a ticket or client keytab is there, else NTLM (with --user), else Basic over https (with --user), else Bearer (with a token)'
basic\t'HTTP Basic: --user and a password'
ntlm\t'NTLMv2 (also inside Negotiate), with channel binding over https: --user and a password'
kerberos\t'Kerberos inside Negotiate, with channel binding over https: the ticket from kinit, or a client keytab (KRB5_CLIENT_KTNAME); no password'
bearer\t'OAuth 2 bearer token: EWS_TOKEN or --token-file'
oauth\t'OAuth 2 sign-in: the tool gets and renews its own tokens (--tenant, --client-id, and a client secret, a certificate or --device-code)'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l spn -d 'The Kerberos service principal, e.g. HTTP/mail.contoso.com or HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL\'s host, as krb5.conf maps it to a realm)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l tenant -d 'The tenant: its ID or a domain such as contoso.onmicrosoft.com (organizations or common only with --device-code)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l client-id -d 'The app registration\'s Application (client) ID' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l client-secret-file -d 'Read the client secret from the first line of FILE (or use EWS_CLIENT_SECRET; never as an argument)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l certificate -d 'The app\'s certificate: PEM with the certificate and its RSA key (PKCS#8 or PKCS#1), or a PKCS#12 .pfx (password from EWS_CERTIFICATE_PASSWORD, or asked for)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l authority -d 'The sign-in server' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l scope -d 'The scope to ask for. Default: https://outlook.office365.com/.default for an app, …/EWS.AccessAsUser.All offline_access for --device-code; on premises (Hybrid Modern Auth) the EWS URL\'s https://host instead of https://outlook.office365.com; with --backend graph, the --graph-url\'s /.default, or …/ProfilePhoto.Read.All offline_access' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l impersonate -d 'The mailbox EWS requests act as (ExchangeImpersonation and X-AnchorMailbox): needed by an app\'s own token over EWS (not used with --backend graph)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l protocol -d 'EWS: the operation\'s form, soap (POST) or rest (GET …/s/GetUserPhoto)' -r -f -a "soap\t'POST a SOAP envelope to the EWS URL'
rest\t'GET {EWS URL}/s/GetUserPhoto?email=…&size=…'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l server-version -d 'EWS: the RequestServerVersion sent with SOAP requests' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l ca-cert -d 'Also trust the CA certificates in this PEM file (added to the system\'s)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l proxy -d 'Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l resolve -d 'Connect to ADDR for HOST:PORT, as curl\'s --resolve (repeatable; several ADDRs separated by commas, IPv6 in [brackets]); ADDR:PORT also moves the port, as curl\'s --connect-to. For every request: EWS, Autodiscover, tokens' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l dns-servers -d 'DNS servers for Autodiscover\'s SRV lookup, as ADDR[:PORT],… (default: the system\'s, from /etc/resolv.conf). Host names are resolved by the system (or --resolve)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l timeout -d 'Give up on a request after SECS seconds' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l retries -d 'Retries when the server is busy or throttling' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l max-backoff -d 'The longest wait between retries, whatever the server asks, in seconds' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l password-stdin -d 'Read the password from the first line of stdin'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l device-code -d 'Sign in as a user with the device-code flow (the code and URL are shown on stderr)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l no-token-cache -d 'Neither read nor write the token cache'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l insecure -d 'Do not verify the server\'s TLS certificate (unsafe: anyone on the path can read the credentials)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l allow-insecure-auth -d 'Allow credentials over plain http://: Basic and Bearer can then be read by anyone on the path, an NTLM exchange captured, cracked offline or relayed, and a connection authenticated with Kerberos taken over'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -l no-cache -d 'Run Autodiscover even when the cache has a result for the domain (the new result is cached)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -s v -l verbose -d 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -s q -l quiet -d 'Print nothing but errors'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand completions" -s V -l version -d 'Print version'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l backend -d 'Where the photos come from: ews (Exchange Web Services, --url) or graph (Microsoft Graph, --graph-url; for Exchange Online, where EWS is being retired)' -r -f -a "ews\t'Exchange Web Services GetUserPhoto, at --url or where Autodiscover finds it (on premises; Exchange Online until EWS is retired there)'
graph\t'Microsoft Graph, at --graph-url (Exchange Online); OAuth tokens only'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l url -d 'The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx. Without it, Autodiscover finds it from --user when that is an address, else from the photo\'s address (export: the list\'s first address), and caches it for a day. Not used with --backend graph' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l graph-url -d 'The Microsoft Graph service, for --backend graph; national clouds: https://graph.microsoft.us (US Government L4), https://dod-graph.microsoft.us (L5, DoD), https://microsoftgraph.chinacloudapi.cn (21Vianet)' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -s u -l user -d 'The user: DOMAIN\\user, user@domain or user' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l domain -d 'The NTLM domain for a plain user name (not needed with DOMAIN\\user or user@domain)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l password-file -d 'Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin; on a terminal the password is asked for)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l token-file -d 'Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l auth -d 'Authentication scheme; auto picks from the server\'s 401 challenge, oauth signs in with --tenant and --client-id' -r -f -a "auto\t'Pick from the server\'s challenge: Kerberos when Negotiate is offered and a ticket or client keytab is there, else NTLM (with --user), else Basic over https (with --user), else Bearer (with a token)'
basic\t'HTTP Basic: --user and a password'
ntlm\t'NTLMv2 (also inside Negotiate), with channel binding over https: --user and a password'
kerberos\t'Kerberos inside Negotiate, with channel binding over https: the ticket from kinit, or a client keytab (KRB5_CLIENT_KTNAME); no password'
bearer\t'OAuth 2 bearer token: EWS_TOKEN or --token-file'
oauth\t'OAuth 2 sign-in: the tool gets and renews its own tokens (--tenant, --client-id, and a client secret, a certificate or --device-code)'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l spn -d 'The Kerberos service principal, e.g. HTTP/mail.contoso.com or HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL\'s host, as krb5.conf maps it to a realm)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l tenant -d 'The tenant: its ID or a domain such as contoso.onmicrosoft.com (organizations or common only with --device-code)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l client-id -d 'The app registration\'s Application (client) ID' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l client-secret-file -d 'Read the client secret from the first line of FILE (or use EWS_CLIENT_SECRET; never as an argument)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l certificate -d 'The app\'s certificate: PEM with the certificate and its RSA key (PKCS#8 or PKCS#1), or a PKCS#12 .pfx (password from EWS_CERTIFICATE_PASSWORD, or asked for)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l authority -d 'The sign-in server' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l scope -d 'The scope to ask for. Default: https://outlook.office365.com/.default for an app, …/EWS.AccessAsUser.All offline_access for --device-code; on premises (Hybrid Modern Auth) the EWS URL\'s https://host instead of https://outlook.office365.com; with --backend graph, the --graph-url\'s /.default, or …/ProfilePhoto.Read.All offline_access' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l impersonate -d 'The mailbox EWS requests act as (ExchangeImpersonation and X-AnchorMailbox): needed by an app\'s own token over EWS (not used with --backend graph)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l protocol -d 'EWS: the operation\'s form, soap (POST) or rest (GET …/s/GetUserPhoto)' -r -f -a "soap\t'POST a SOAP envelope to the EWS URL'
rest\t'GET {EWS URL}/s/GetUserPhoto?email=…&size=…'"
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l server-version -d 'EWS: the RequestServerVersion sent with SOAP requests' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l ca-cert -d 'Also trust the CA certificates in this PEM file (added to the system\'s)' -r -F
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l proxy -d 'Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables' -r -f
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l resolve -d 'Connect to ADDR for HOST:PORT, as curl\'s --resolve (repeatable; several ADDRs separated by commas, IPv6 in [brackets]); ADDR:PORT also moves the port, as curl\'s --connect-to. For every request: EWS, Autodiscover, tokens' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l dns-servers -d 'DNS servers for Autodiscover\'s SRV lookup, as ADDR[:PORT],… (default: the system\'s, from /etc/resolv.conf). Host names are resolved by the system (or --resolve)' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l timeout -d 'Give up on a request after SECS seconds' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l retries -d 'Retries when the server is busy or throttling' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l max-backoff -d 'The longest wait between retries, whatever the server asks, in seconds' -r
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l password-stdin -d 'Read the password from the first line of stdin'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l device-code -d 'Sign in as a user with the device-code flow (the code and URL are shown on stderr)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l no-token-cache -d 'Neither read nor write the token cache'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l insecure -d 'Do not verify the server\'s TLS certificate (unsafe: anyone on the path can read the credentials)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l allow-insecure-auth -d 'Allow credentials over plain http://: Basic and Bearer can then be read by anyone on the path, an NTLM exchange captured, cracked offline or relayed, and a connection authenticated with Kerberos taken over'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -l no-cache -d 'Run Autodiscover even when the cache has a result for the domain (the new result is cached)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -s v -l verbose -d 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -s q -l quiet -d 'Print nothing but errors'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand man" -s V -l version -d 'Print version'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand help; and not __fish_seen_subcommand_from get export discover completions man help" -f -a "get" -d 'Fetch one user\'s photo'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand help; and not __fish_seen_subcommand_from get export discover completions man help" -f -a "export" -d 'Fetch the photos of many users: parallel, resumable, incremental'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand help; and not __fish_seen_subcommand_from get export discover completions man help" -f -a "discover" -d 'Find the EWS URL of an address by Autodiscover, and print it'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand help; and not __fish_seen_subcommand_from get export discover completions man help" -f -a "completions" -d 'Print a shell completion script'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand help; and not __fish_seen_subcommand_from get export discover completions man help" -f -a "man" -d 'Print the man page (roff)'
complete -c ews-photo -n "__fish_ews_photo_using_subcommand help; and not __fish_seen_subcommand_from get export discover completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'

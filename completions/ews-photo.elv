
use builtin;
use str;

set edit:completion:arg-completer[ews-photo] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'ews-photo'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'ews-photo'= {
            cand --url 'The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx'
            cand -u 'The user: DOMAIN\user, user@domain or user'
            cand --user 'The user: DOMAIN\user, user@domain or user'
            cand --domain 'The NTLM domain for a plain user name (not needed with DOMAIN\user or user@domain)'
            cand --password-file 'Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin; on a terminal the password is asked for)'
            cand --token-file 'Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN)'
            cand --auth 'Authentication scheme; auto picks from the server''s 401 challenge'
            cand --spn 'The Kerberos service principal, e.g. HTTP/mail.contoso.com or HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL''s host, as krb5.conf maps it to a realm)'
            cand --protocol 'The operation''s form: soap (POST) or rest (GET …/s/GetUserPhoto)'
            cand --server-version 'RequestServerVersion sent with SOAP requests'
            cand --ca-cert 'Also trust the CA certificates in this PEM file (added to the system''s)'
            cand --proxy 'Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables'
            cand --timeout 'Give up on a request after SECS seconds'
            cand --retries 'Retries when the server is busy or throttling'
            cand --max-backoff 'The longest wait between retries, whatever the server asks, in seconds'
            cand --password-stdin 'Read the password from the first line of stdin'
            cand --insecure 'Do not verify the server''s TLS certificate (unsafe: anyone on the path can read the credentials)'
            cand --allow-insecure-auth 'Allow credentials over plain http://: Basic and Bearer can then be read by anyone on the path, an NTLM exchange captured, cracked offline or relayed, and a connection authenticated with Kerberos taken over'
            cand -v 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted'
            cand --verbose 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand get 'Fetch one user''s photo'
            cand export 'Fetch the photos of many users: parallel, resumable, incremental'
            cand completions 'Print a shell completion script'
            cand man 'Print the man page (roff)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'ews-photo;get'= {
            cand -s 'Photo size: HR48x48 … HR648x648, HR1024xN, HR1920xN, or just the width'
            cand --size 'Photo size: HR48x48 … HR648x648, HR1024xN, HR1920xN, or just the width'
            cand -o 'Where to write: a file, or - for stdout. Default: EMAIL.EXT in the current folder, the extension from the real image format'
            cand --output 'Where to write: a file, or - for stdout. Default: EMAIL.EXT in the current folder, the extension from the real image format'
            cand --format 'Convert to this format (keep: write what the server sent)'
            cand --if-none-match 'Send If-None-Match: an unchanged photo is not downloaded again (exit 0, nothing written)'
            cand --url 'The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx'
            cand -u 'The user: DOMAIN\user, user@domain or user'
            cand --user 'The user: DOMAIN\user, user@domain or user'
            cand --domain 'The NTLM domain for a plain user name (not needed with DOMAIN\user or user@domain)'
            cand --password-file 'Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin; on a terminal the password is asked for)'
            cand --token-file 'Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN)'
            cand --auth 'Authentication scheme; auto picks from the server''s 401 challenge'
            cand --spn 'The Kerberos service principal, e.g. HTTP/mail.contoso.com or HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL''s host, as krb5.conf maps it to a realm)'
            cand --protocol 'The operation''s form: soap (POST) or rest (GET …/s/GetUserPhoto)'
            cand --server-version 'RequestServerVersion sent with SOAP requests'
            cand --ca-cert 'Also trust the CA certificates in this PEM file (added to the system''s)'
            cand --proxy 'Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables'
            cand --timeout 'Give up on a request after SECS seconds'
            cand --retries 'Retries when the server is busy or throttling'
            cand --max-backoff 'The longest wait between retries, whatever the server asks, in seconds'
            cand -n 'Keep an existing output file instead of replacing it'
            cand --no-clobber 'Keep an existing output file instead of replacing it'
            cand --json 'Print one JSON record on stdout (email, status, path, bytes, content_type, width, height, etag, expires)'
            cand --password-stdin 'Read the password from the first line of stdin'
            cand --insecure 'Do not verify the server''s TLS certificate (unsafe: anyone on the path can read the credentials)'
            cand --allow-insecure-auth 'Allow credentials over plain http://: Basic and Bearer can then be read by anyone on the path, an NTLM exchange captured, cracked offline or relayed, and a connection authenticated with Kerberos taken over'
            cand -v 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted'
            cand --verbose 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ews-photo;export'= {
            cand -d 'The folder to write the photos into (created if missing)'
            cand --dir 'The folder to write the photos into (created if missing)'
            cand --name 'File name template: {email}, {local}, {domain}, {size}, {ext} (the real format''s extension). The result is made a safe file name in --dir'
            cand --column 'The CSV column holding the addresses (default: email, mail, PrimarySmtpAddress or UserPrincipalName; case-insensitive)'
            cand -s 'Photo size: HR48x48 … HR648x648, HR1024xN, HR1920xN, or just the width'
            cand --size 'Photo size: HR48x48 … HR648x648, HR1024xN, HR1920xN, or just the width'
            cand --format 'Convert to this format (keep: write what the server sent)'
            cand -j 'Requests in parallel, each worker on its own connection (Exchange allows 27 per user by default: EWSMaxConcurrency)'
            cand --jobs 'Requests in parallel, each worker on its own connection (Exchange allows 27 per user by default: EWSMaxConcurrency)'
            cand --report 'Write one row per address to FILE: CSV (.csv) or JSON lines (.json, .jsonl, .ndjson)'
            cand --progress 'Progress on stderr: a bar on a terminal, a line every few seconds otherwise (always: even with -q)'
            cand --url 'The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx'
            cand -u 'The user: DOMAIN\user, user@domain or user'
            cand --user 'The user: DOMAIN\user, user@domain or user'
            cand --domain 'The NTLM domain for a plain user name (not needed with DOMAIN\user or user@domain)'
            cand --password-file 'Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin; on a terminal the password is asked for)'
            cand --token-file 'Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN)'
            cand --auth 'Authentication scheme; auto picks from the server''s 401 challenge'
            cand --spn 'The Kerberos service principal, e.g. HTTP/mail.contoso.com or HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL''s host, as krb5.conf maps it to a realm)'
            cand --protocol 'The operation''s form: soap (POST) or rest (GET …/s/GetUserPhoto)'
            cand --server-version 'RequestServerVersion sent with SOAP requests'
            cand --ca-cert 'Also trust the CA certificates in this PEM file (added to the system''s)'
            cand --proxy 'Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables'
            cand --timeout 'Give up on a request after SECS seconds'
            cand --retries 'Retries when the server is busy or throttling'
            cand --max-backoff 'The longest wait between retries, whatever the server asks, in seconds'
            cand --sync 'Fetch only photos that changed since the last run (If-None-Match with the ETags in the folder''s manifest): unchanged photos are not downloaded or written again'
            cand --prune 'With --sync: delete the file of a user whose photo was removed on the server'
            cand --skip-existing 'Skip addresses whose file already exists (no request at all)'
            cand --password-stdin 'Read the password from the first line of stdin'
            cand --insecure 'Do not verify the server''s TLS certificate (unsafe: anyone on the path can read the credentials)'
            cand --allow-insecure-auth 'Allow credentials over plain http://: Basic and Bearer can then be read by anyone on the path, an NTLM exchange captured, cracked offline or relayed, and a connection authenticated with Kerberos taken over'
            cand -v 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted'
            cand --verbose 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ews-photo;completions'= {
            cand --url 'The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx'
            cand -u 'The user: DOMAIN\user, user@domain or user'
            cand --user 'The user: DOMAIN\user, user@domain or user'
            cand --domain 'The NTLM domain for a plain user name (not needed with DOMAIN\user or user@domain)'
            cand --password-file 'Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin; on a terminal the password is asked for)'
            cand --token-file 'Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN)'
            cand --auth 'Authentication scheme; auto picks from the server''s 401 challenge'
            cand --spn 'The Kerberos service principal, e.g. HTTP/mail.contoso.com or HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL''s host, as krb5.conf maps it to a realm)'
            cand --protocol 'The operation''s form: soap (POST) or rest (GET …/s/GetUserPhoto)'
            cand --server-version 'RequestServerVersion sent with SOAP requests'
            cand --ca-cert 'Also trust the CA certificates in this PEM file (added to the system''s)'
            cand --proxy 'Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables'
            cand --timeout 'Give up on a request after SECS seconds'
            cand --retries 'Retries when the server is busy or throttling'
            cand --max-backoff 'The longest wait between retries, whatever the server asks, in seconds'
            cand --password-stdin 'Read the password from the first line of stdin'
            cand --insecure 'Do not verify the server''s TLS certificate (unsafe: anyone on the path can read the credentials)'
            cand --allow-insecure-auth 'Allow credentials over plain http://: Basic and Bearer can then be read by anyone on the path, an NTLM exchange captured, cracked offline or relayed, and a connection authenticated with Kerberos taken over'
            cand -v 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted'
            cand --verbose 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ews-photo;man'= {
            cand --url 'The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx'
            cand -u 'The user: DOMAIN\user, user@domain or user'
            cand --user 'The user: DOMAIN\user, user@domain or user'
            cand --domain 'The NTLM domain for a plain user name (not needed with DOMAIN\user or user@domain)'
            cand --password-file 'Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin; on a terminal the password is asked for)'
            cand --token-file 'Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN)'
            cand --auth 'Authentication scheme; auto picks from the server''s 401 challenge'
            cand --spn 'The Kerberos service principal, e.g. HTTP/mail.contoso.com or HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL''s host, as krb5.conf maps it to a realm)'
            cand --protocol 'The operation''s form: soap (POST) or rest (GET …/s/GetUserPhoto)'
            cand --server-version 'RequestServerVersion sent with SOAP requests'
            cand --ca-cert 'Also trust the CA certificates in this PEM file (added to the system''s)'
            cand --proxy 'Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables'
            cand --timeout 'Give up on a request after SECS seconds'
            cand --retries 'Retries when the server is busy or throttling'
            cand --max-backoff 'The longest wait between retries, whatever the server asks, in seconds'
            cand --password-stdin 'Read the password from the first line of stdin'
            cand --insecure 'Do not verify the server''s TLS certificate (unsafe: anyone on the path can read the credentials)'
            cand --allow-insecure-auth 'Allow credentials over plain http://: Basic and Bearer can then be read by anyone on the path, an NTLM exchange captured, cracked offline or relayed, and a connection authenticated with Kerberos taken over'
            cand -v 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted'
            cand --verbose 'Show requests and responses on stderr (-vv adds bodies); secrets are redacted'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ews-photo;help'= {
            cand get 'Fetch one user''s photo'
            cand export 'Fetch the photos of many users: parallel, resumable, incremental'
            cand completions 'Print a shell completion script'
            cand man 'Print the man page (roff)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'ews-photo;help;get'= {
        }
        &'ews-photo;help;export'= {
        }
        &'ews-photo;help;completions'= {
        }
        &'ews-photo;help;man'= {
        }
        &'ews-photo;help;help'= {
        }
    ]
    $completions[$command]
}

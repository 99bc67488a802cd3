//! SMTP client: lettre's protocol code over sockets termwatch opens itself,
//! in a pool of its own.
//!
//! lettre's `AsyncSmtpTransport` is not used because of three costs measured
//! with the deliver bench (`cargo bench --bench deliver`):
//! - it leaves Nagle's algorithm on, and writes a message body and the
//!   closing `.` in two writes, so the `.` waits for the server's delayed ACK
//!   (40 ms on Linux) on every message: 23 messages/s per connection whatever
//!   the server. Sockets here set `TCP_NODELAY`.
//! - its pool takes a connection back in a spawned task, so a send that starts
//!   just after another ends can find the pool empty and open one connection
//!   more than configured; a server that serves a fixed number of
//!   connections never greets that one and the send times out. Here a
//!   semaphore bounds open connections and a connection is back in the pool
//!   before its send returns.
//! - it sends a `NOOP` before every reuse, one round trip per message. Here a
//!   reused connection that turns out closed fails at `MAIL FROM`, before
//!   anything of the message is sent, and the send goes on over a new one.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use tokio::sync::Semaphore;

use super::{Error, Security, SendError, SmtpConfig};

/// A parked connection idle longer than this is closed instead of reused:
/// servers and NAT boxes drop idle connections, and a half-open one would
/// hang a send until its timeout.
const MAX_IDLE: Duration = Duration::from_secs(60);

/// A pool of at most `size` SMTP connections to one server.
pub struct SmtpClient {
    host: String,
    port: u16,
    security: Security,
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
    /// Bound on connecting, TLS, greeting, EHLO and login together, and on
    /// one whole send.
    timeout: Duration,
    slots: Semaphore,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

impl SmtpClient {
    pub fn new(smtp: &SmtpConfig, size: usize) -> Result<SmtpClient, Error> {
        refuse_clear_text_login(smtp)?;
        let port = smtp.port.unwrap_or(match smtp.security {
            Security::Plain => 25,
            Security::Starttls => 587,
            Security::Tls => 465,
        });
        let tls = match smtp.security {
            Security::Plain => None,
            Security::Starttls | Security::Tls => Some(tls_parameters(smtp)?),
        };
        Ok(SmtpClient {
            host: smtp.host.clone(),
            port,
            security: smtp.security,
            tls,
            credentials: credentials(smtp)?,
            hello: ClientId::default(),
            timeout: Duration::from_secs(smtp.timeout_secs.max(1)),
            slots: Semaphore::new(size.max(1)),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Sends one message. Waiting for a free connection does not count
    /// against the timeout; the exchange with the server does.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SendError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| SendError::transient("SMTP: the mailer is shutting down"))?;
        match tokio::time::timeout(self.timeout, self.exchange(envelope, message)).await {
            Ok(r) => r,
            // The connection was dropped with the future: it is not parked
            // half-way through a message.
            Err(_) => Err(SendError::transient(format!(
                "SMTP: {}:{} did not finish the exchange within {}s; check that the server is up and not overloaded",
                self.host,
                self.port,
                self.timeout.as_secs()
            ))),
        }
    }

    async fn exchange(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SendError> {
        if let Some(mut conn) = self.reuse() {
            match start(&mut conn, envelope, message).await {
                Ok(()) => return self.finish(conn, message).await,
                // A server refusal would be the same on a new connection.
                Err(e) if e.is_permanent() => return Err(refused(e)),
                // Closed by the server since it was parked (idle timeout, a
                // limit of messages per connection): nothing of this message
                // went out, so a new connection cannot duplicate it.
                Err(e) => {
                    tracing::debug!(error = %e, "pooled SMTP connection unusable; opening a new one");
                }
            }
        }
        let mut conn = self.connect().await?;
        start(&mut conn, envelope, message)
            .await
            .map_err(|e| self.failed(e))?;
        self.finish(conn, message).await
    }

    async fn finish(&self, mut conn: AsyncSmtpConnection, message: &[u8]) -> Result<(), SendError> {
        conn.command(Data).await.map_err(|e| self.failed(e))?;
        conn.message(message).await.map_err(|e| self.failed(e))?;
        // Back before this send returns, so the next one finds it.
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((conn, Instant::now()));
        Ok(())
    }

    /// The most recently parked connection that is young enough; older ones
    /// are closed.
    fn reuse(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.retain(|(_, since)| since.elapsed() <= MAX_IDLE);
        idle.pop().map(|(conn, _)| conn)
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let server = format!("{}:{}", self.host, self.port);
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| {
                SendError::transient(format!(
                    "SMTP: cannot connect to {server}: {e}; check [deliver.smtp] host and port and that the server is up"
                ))
            })?;
        tcp.set_nodelay(true).map_err(|e| {
            SendError::transient(format!("SMTP: cannot set TCP_NODELAY on {server}: {e}"))
        })?;
        let tls_failed = |e: lettre::transport::smtp::Error| {
            SendError::transient(format!(
                "SMTP: TLS with {server} failed: {e}; if the server's certificate is signed by a private CA, name it in [deliver.smtp] ca_file"
            ))
        };
        let stream: Box<dyn AsyncTokioStream> = match (&self.tls, self.security) {
            (Some(tls), Security::Tls) => {
                Box::new(implicit_tls(tcp, tls.clone()).await.map_err(tls_failed)?)
            }
            _ => Box::new(tcp),
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello)
            .await
            .map_err(|e| {
                SendError::transient(format!(
                    "SMTP: {server} did not greet as an SMTP server: {e}"
                ))
            })?;
        if let (Some(tls), Security::Starttls) = (&self.tls, self.security) {
            if !conn.can_starttls() {
                conn.abort().await;
                return Err(SendError::transient(format!(
                    "SMTP: {server} does not offer STARTTLS; set [deliver.smtp] security = \"tls\" if it expects TLS from the start, or fix the server"
                )));
            }
            conn.starttls(tls.clone(), &self.hello)
                .await
                .map_err(tls_failed)?;
        }
        if let Some(credentials) = &self.credentials
            && let Err(e) = conn
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
        {
            conn.abort().await;
            // Transient on purpose: a wrong password is fixed in the
            // configuration, and the deliveries waiting for it should then
            // go out without a manual retry each.
            return Err(SendError::transient(format!(
                "SMTP: {server} did not accept the login: {e}; check [deliver.smtp] username and the password in password_env / password_file"
            )));
        }
        Ok(conn)
    }

    fn failed(&self, e: lettre::transport::smtp::Error) -> SendError {
        if e.is_permanent() {
            refused(e)
        } else {
            SendError::transient(format!("SMTP ({}:{}): {e}", self.host, self.port))
        }
    }
}

fn refused(e: lettre::transport::smtp::Error) -> SendError {
    SendError::permanent(format!("the SMTP server refused the message: {e}"))
}

/// `MAIL FROM` and `RCPT TO`: up to here nothing of the message is sent.
async fn start(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    message: &[u8],
) -> Result<(), lettre::transport::smtp::Error> {
    let mut params = Vec::new();
    let non_ascii_address = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
    if non_ascii_address && conn.server_info().supports_feature(Extension::SmtpUtfEight) {
        params.push(MailParameter::SmtpUtfEight);
    }
    if !message.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
        params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), params))
        .await?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), Vec::new())).await?;
    }
    Ok(())
}

/// A login over `security = "plain"` crosses the network in the clear
/// (AUTH PLAIN is the password in base64): allowed only to a relay on this
/// host.
fn refuse_clear_text_login(smtp: &SmtpConfig) -> Result<(), Error> {
    if smtp.security != Security::Plain || smtp.username.is_none() || is_loopback(&smtp.host) {
        return Ok(());
    }
    Err(Error::Smtp(format!(
        "security = \"plain\" would send the login to {} in the clear; set security = \"starttls\" (port 587) or \"tls\" (port 465), or drop username to send without logging in; plain with a login is allowed only to localhost, 127.0.0.1 or ::1",
        smtp.host
    )))
}

/// `localhost` or a loopback IP literal; other names are not trusted to
/// resolve to this host.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn credentials(smtp: &SmtpConfig) -> Result<Option<Credentials>, Error> {
    use super::secrets::SecretRef;
    let password = match (&smtp.password_env, &smtp.password_file) {
        (Some(_), Some(_)) => {
            return Err(Error::Smtp(
                "set password_env or password_file, not both".to_string(),
            ));
        }
        (Some(name), None) => Some(SecretRef::Env(name.clone())),
        (None, Some(path)) => Some(SecretRef::File(path.clone())),
        (None, None) => None,
    };
    match (&smtp.username, password) {
        (Some(user), Some(pw)) => {
            let pw = pw.resolve().map_err(Error::Password)?;
            Ok(Some(Credentials::new(user.clone(), pw.expose().to_string())))
        }
        (Some(_), None) => Err(Error::Smtp(
            "username is set but no password: add password_env = \"VAR\" or password_file = \"/path\"".to_string(),
        )),
        (None, Some(_)) => Err(Error::Smtp(
            "a password is set but no username: add username = \"...\"".to_string(),
        )),
        (None, None) => Ok(None),
    }
}

/// Certificates are checked against the system's roots, plus those in
/// `ca_file` when it is set; there is no switch to turn the check off.
fn tls_parameters(smtp: &SmtpConfig) -> Result<TlsParameters, Error> {
    let mut builder = TlsParameters::builder(smtp.host.clone());
    if let Some(path) = &smtp.ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            Error::Smtp(format!(
                "cannot read ca_file {}: {e}; give the path of a PEM file of CA certificates",
                path.display()
            ))
        })?;
        if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
            return Err(Error::Smtp(format!(
                "ca_file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            )));
        }
        let cert = Certificate::from_pem(&pem).map_err(|e| {
            Error::Smtp(format!(
                "ca_file {} is not a PEM certificate file: {e}",
                path.display()
            ))
        })?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build_rustls()
        .map_err(|e| Error::Smtp(format!("cannot set up TLS for {}: {e}", smtp.host)))
}

/// TLS from the first byte over a socket of ours. lettre only upgrades a
/// socket to TLS through its network stream type, which its `connect`
/// functions open without `TCP_NODELAY`; this adapts that type back to a
/// tokio stream for `connect_with_transport`.
#[allow(deprecated)]
async fn implicit_tls(
    tcp: tokio::net::TcpStream,
    tls: TlsParameters,
) -> Result<TlsStream, lettre::transport::smtp::Error> {
    use lettre::transport::smtp::client::AsyncNetworkStream;
    let mut stream = AsyncNetworkStream::use_existing_tokio1(Box::new(tcp));
    stream.upgrade_tls(tls).await?;
    Ok(TlsStream(stream))
}

#[allow(deprecated)]
#[derive(Debug)]
struct TlsStream(lettre::transport::smtp::client::AsyncNetworkStream);

impl AsyncTokioStream for TlsStream {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.peer_addr()
    }
}

mod adapt {
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use futures_util::io::{AsyncRead as FRead, AsyncWrite as FWrite};
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    use super::TlsStream;

    impl AsyncRead for TlsStream {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let unfilled = buf.initialize_unfilled();
            match Pin::new(&mut self.0).poll_read(cx, unfilled) {
                Poll::Ready(Ok(n)) => {
                    buf.advance(n);
                    Poll::Ready(Ok(()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        }
    }

    impl AsyncWrite for TlsStream {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.0).poll_write(cx, buf)
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_close(cx)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain_login(host: &str) -> SmtpConfig {
        SmtpConfig {
            host: host.to_string(),
            port: Some(2525),
            security: Security::Plain,
            username: Some("tw".into()),
            password_env: Some("TERMWATCH_TEST_SMTP_PW_UNUSED".into()),
            password_file: None,
            timeout_secs: 5,
            ca_file: None,
        }
    }

    #[test]
    fn plain_auth_is_refused_unless_the_host_is_loopback() {
        for host in ["mail.example.com", "192.0.2.10", "2001:db8::1"] {
            let err = refuse_clear_text_login(&plain_login(host))
                .unwrap_err()
                .to_string();
            assert!(err.contains("security = \"starttls\""), "{err}");
            assert!(err.contains(host), "{err}");
        }
        for host in ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"] {
            assert!(
                refuse_clear_text_login(&plain_login(host)).is_ok(),
                "{host}"
            );
        }
        let mut anonymous = plain_login("mail.example.com");
        anonymous.username = None;
        assert!(refuse_clear_text_login(&anonymous).is_ok());
        let mut tls = plain_login("mail.example.com");
        tls.security = Security::Starttls;
        assert!(refuse_clear_text_login(&tls).is_ok());
    }
}

//! A TCP proxy that holds every request a round trip's worth before passing it on, to
//! measure trailscan against an S3 server as far away as real S3 is (tens of milliseconds from
//! EC2, more from a laptop) while the server runs on the same machine.
//!
//! ```text
//! latency-proxy UPSTREAM_HOST:PORT DELAY_MS
//! ```
//!
//! It listens on a free loopback port and prints `http://127.0.0.1:PORT` on stdout, then
//! forwards each connection to UPSTREAM. Bytes from the client (a request, or part of one) wait
//! DELAY_MS before they go on, one piece after another, so every request of a connection costs
//! one DELAY_MS more, as a round trip does; answers flow back at once.
//!
//! It runs on one thread (tokio's, a task per direction per connection): it shares the
//! machine's cores with trailscan and the S3 server, and every bit of CPU it takes would be
//! counted as network time. The first version, a thread per direction per connection, took
//! 0.9 s of CPU in a 2.7 s validate-logs run at 80 ms.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [upstream, delay_ms] = args.as_slice() else {
        bail!("usage: latency-proxy UPSTREAM_HOST:PORT DELAY_MS");
    };
    let delay = Duration::from_millis(delay_ms.parse().context("DELAY_MS")?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(serve(upstream.clone(), delay))
}

/// Accepts connections and relays each to `upstream`.
async fn serve(upstream: String, delay: Duration) -> Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on loopback")?;
    println!("http://{}", listener.local_addr()?);
    std::io::Write::flush(&mut std::io::stdout())?;
    loop {
        let (client, _) = listener.accept().await.context("accept")?;
        // A connection that fails ends alone; the benchmark sees the failed request.
        tokio::spawn(relay(client, upstream.clone(), delay));
    }
}

/// Forwards one connection both ways, the client's bytes held `delay` each.
async fn relay(client: TcpStream, upstream: String, delay: Duration) -> std::io::Result<()> {
    let server = TcpStream::connect(&upstream).await?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let answers = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
        let _ = to_client.shutdown().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from_client.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        tokio::time::sleep_until(Instant::now() + delay).await;
        to_server.write_all(&buf[..n]).await?;
    }
    let _ = to_server.shutdown().await;
    let _ = answers.await;
    Ok(())
}

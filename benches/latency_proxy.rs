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
//! one DELAY_MS more, as a round trip does; answers flow back at once. One thread per direction
//! per connection: a benchmark opens a few hundred at most.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [upstream, delay_ms] = args.as_slice() else {
        bail!("usage: latency-proxy UPSTREAM_HOST:PORT DELAY_MS");
    };
    let delay = Duration::from_millis(delay_ms.parse().context("DELAY_MS")?);
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen on loopback")?;
    println!("http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    for client in listener.incoming() {
        let client = client.context("accept")?;
        let upstream = upstream.clone();
        thread::spawn(move || {
            // A connection that fails ends alone; the benchmark sees the failed request.
            let _ = relay(client, &upstream, delay);
        });
    }
    Ok(())
}

/// Forwards one connection both ways, the client's bytes held `delay` each.
fn relay(client: TcpStream, upstream: &str, delay: Duration) -> Result<()> {
    let server = TcpStream::connect(upstream).context("upstream")?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut from_client, mut to_server) = (client.try_clone()?, server.try_clone()?);
    let (mut from_server, mut to_client) = (server, client);
    let answers = thread::spawn(move || {
        let _ = pipe(&mut from_server, &mut to_client, Duration::ZERO);
        let _ = to_client.shutdown(Shutdown::Write);
    });
    let _ = pipe(&mut from_client, &mut to_server, delay);
    let _ = to_server.shutdown(Shutdown::Write);
    let _ = answers.join();
    Ok(())
}

/// Copies `from` to `to` until the end, each piece sent `delay` after it arrived.
fn pipe(from: &mut TcpStream, to: &mut TcpStream, delay: Duration) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        let arrived = Instant::now();
        if !delay.is_zero() {
            thread::sleep(delay.saturating_sub(arrived.elapsed()));
        }
        to.write_all(&buf[..n])?;
    }
}

//! A real browser for the console's tests: Debian's Chromium, headless, driven over WebDriver by
//! its own chromedriver on a free loopback port. `plugins/toolchains/setup browser` installs both.
//!
//! The calls are blocking, like the rest of the harness, so a test mixes them freely with
//! [`Serving`](crate::Serving)'s requests. Each [`Browser`] owns its chromedriver and Chromium
//! and ends both when dropped, also when the test panics.

use crate::target_dir;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a wait for a page, an element or a condition may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// The window the pages are laid out in (and screenshots taken at, before growing to the page).
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 900;

/// One headless Chromium and the chromedriver that drives it.
pub struct Browser {
    runtime: tokio::runtime::Runtime,
    /// `None` once the session is closed (in `Drop`).
    client: Option<Client>,
    driver: Child,
    /// Chromium's profile (`--user-data-dir`) and chromedriver's log.
    scratch: tempfile::TempDir,
    /// `http://HOST:PORT` of the site under test; paths are relative to it.
    base: String,
}

impl Browser {
    /// Starts chromedriver and a Chromium session for the site at `base` (`http://HOST:PORT`);
    /// panics, naming the setup script, when either program is not installed.
    pub fn start(base: &str) -> Browser {
        for (program, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(program).is_file(),
                "{program} is missing: install Debian's {package} with `plugins/toolchains/setup browser` \
                 (the README's test command runs the whole setup)"
            );
        }
        let scratch = tempfile::Builder::new()
            .prefix("palisade-browser-")
            .tempdir()
            .expect("create a temporary folder");
        let port = free_port();
        let log =
            std::fs::File::create(scratch.path().join("chromedriver.log")).expect("create the driver log");
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("a second handle"))
            .stderr(log)
            // The pages' times are UTC; so is the browser's clock, whatever the machine's zone.
            .env("TZ", "UTC");
        // Its own process group, which Chromium and its helpers inherit: `Drop` ends them all
        // with one signal even when the session could not be closed. (Chromium's crash handlers
        // detach into sessions of their own; they exit when the browser does.)
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let mut browser = Browser {
            runtime,
            client: None,
            driver,
            scratch,
            base: base.trim_end_matches('/').to_owned(),
        };
        let client = browser.connect(port);
        browser.client = Some(client);
        browser
    }

    /// A new session, once chromedriver listens (it takes a moment to start).
    fn connect(&mut self, port: u16) -> Client {
        let profile = self.scratch.path().join("profile");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                // What Chromium needs where the tests run: no sandbox (they may run as root), no
                // GPU, and none of the background traffic a closed network refuses by the dozen.
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    format!("--user-data-dir={}", profile.display()),
                    format!("--window-size={WIDTH},{HEIGHT}"),
                    "--force-device-scale-factor=1",
                    "--hide-scrollbars",
                    "--lang=en-US",
                ],
            },
            // The page's console, for `console_errors` (CSP violations are logged there).
            "goog:loggingPrefs": {"browser": "ALL"},
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!("an object literal"),
        };
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let attempt = self.runtime.block_on(
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(capabilities.clone())
                    .connect(&url),
            );
            match attempt {
                Ok(client) => return client,
                Err(error) => {
                    let exited = self.driver.try_wait().ok().flatten();
                    if exited.is_some() || started.elapsed() > WAIT {
                        panic!(
                            "no browser session from {CHROMEDRIVER} ({}): {error}\n{}",
                            exited.map_or("still running".to_owned(), |s| s.to_string()),
                            self.driver_log()
                        );
                    }
                    // chromedriver is still starting: its port refuses connections.
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("the session is open until drop")
    }

    /// What chromedriver logged, for a failure's message.
    pub fn driver_log(&self) -> String {
        std::fs::read_to_string(self.scratch.path().join("chromedriver.log")).unwrap_or_default()
    }

    /// Runs one WebDriver command; panics with `what` and the page's address when it fails.
    fn run<T>(&self, what: &str, command: impl Future<Output = Result<T, fantoccini::error::CmdError>>) -> T {
        match self.runtime.block_on(command) {
            Ok(value) => value,
            Err(error) => {
                let at = self
                    .runtime
                    .block_on(self.client().current_url())
                    .map_or_else(|e| format!("(no address: {e})"), |u| u.to_string());
                panic!("{what} failed on {at}: {error}")
            }
        }
    }

    /// The absolute address of `path` on the site.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Loads `path` (relative to the site) and waits for the page to load.
    pub fn goto(&self, path: &str) {
        let url = self.url(path);
        self.run(&format!("load {url}"), self.client().goto(&url));
    }

    /// The path and query of the page shown.
    pub fn path(&self) -> String {
        let url = self.run("read the address", self.client().current_url());
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the page shown is at `path` (without its query); a form's redirect or an
    /// htmx navigation takes a moment after the click that started it.
    pub fn wait_for_path(&self, path: &str) {
        let started = Instant::now();
        loop {
            let url = self.run("read the address", self.client().current_url());
            if url.path() == path {
                return;
            }
            assert!(
                started.elapsed() < WAIT,
                "still at {url} after {WAIT:?}, expected {path}\n{}",
                self.body_text()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Clicks the first element matching `css`.
    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.run(&format!("click {css}"), element.click());
    }

    /// Types `text` into the field matching `css`, after clearing it.
    pub fn fill(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.run(&format!("clear {css}"), element.clear());
        self.run(&format!("type into {css}"), element.send_keys(text));
    }

    /// Chooses the option with `value` in the select matching `css`, as a person would.
    pub fn select(&self, css: &str, value: &str) {
        let element = self.find(css);
        self.run(
            &format!("choose {value:?} in {css}"),
            element.select_by_value(value),
        );
    }

    /// Sets the value of the field or select matching `css` as a script would, firing `change`:
    /// for controls whose typing depends on the locale, such as `datetime-local`.
    pub fn set_value(&self, css: &str, value: &str) {
        let set = self.script(
            "const field = document.querySelector(arguments[0]);
             if (!field) return false;
             field.value = arguments[1];
             field.dispatchEvent(new Event('change', {bubbles: true}));
             return field.value === arguments[1];",
            vec![json!(css), json!(value)],
        );
        assert_eq!(
            set,
            json!(true),
            "cannot set {css} to {value:?}\n{}",
            self.body_text()
        );
    }

    /// The first element matching `css`, waiting up to [`WAIT`] for it to appear.
    pub fn find(&self, css: &str) -> fantoccini::elements::Element {
        let found = self
            .runtime
            .block_on(self.client().wait().at_most(WAIT).for_element(Locator::Css(css)));
        found.unwrap_or_else(|e| {
            panic!(
                "no {css} on {} within {WAIT:?}: {e}\n{}",
                self.path(),
                self.body_text()
            )
        })
    }

    /// How many elements match `css` now (no waiting).
    pub fn count(&self, css: &str) -> usize {
        self.run(&format!("find {css}"), self.client().find_all(Locator::Css(css)))
            .len()
    }

    /// The rendered text of the first element matching `css`.
    pub fn text(&self, css: &str) -> String {
        let element = self.find(css);
        self.run(&format!("read {css}"), element.text())
    }

    /// An attribute of each element matching `css` now, in document order.
    pub fn attributes(&self, css: &str, attribute: &str) -> Vec<Option<String>> {
        let elements = self.run(&format!("find {css}"), self.client().find_all(Locator::Css(css)));
        elements
            .iter()
            .map(|element| self.run(&format!("read {css} {attribute}"), element.attr(attribute)))
            .collect()
    }

    /// The text of the whole page, for a failure's message.
    pub fn body_text(&self) -> String {
        self.runtime
            .block_on(async {
                let body = self.client().find(Locator::Css("body")).await?;
                body.text().await
            })
            .unwrap_or_else(|e| format!("(no page text: {e})"))
    }

    /// Runs `script` as the body of a function in the page, `arguments` holding `args`, and
    /// returns what it returns.
    pub fn script(&self, script: &str, args: Vec<Value>) -> Value {
        self.run("run a script", self.client().execute(script, args))
    }

    /// Waits until `condition`, a script expression, is true in the page; `what` names it in
    /// the failure's message.
    pub fn wait_until(&self, what: &str, condition: &str) {
        let script = format!("return Boolean({condition});");
        let started = Instant::now();
        while self.script(&script, Vec::new()) != json!(true) {
            assert!(
                started.elapsed() < WAIT,
                "not {what} within {WAIT:?} on {}\n{}",
                self.path(),
                self.body_text()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Presses Tab as a keyboard user would, moving the focus to the next control.
    pub fn press_tab(&self) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let tab = char::from(fantoccini::key::Key::Tab);
        let actions = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: tab })
            .then(KeyAction::Up { value: tab });
        self.run("press Tab", self.client().perform_actions(actions));
    }

    /// The value of a cookie the site set, HttpOnly ones included.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let cookies = self.run("read the cookies", self.client().get_all_cookies());
        cookies
            .into_iter()
            .find(|cookie| cookie.name() == name)
            .map(|cookie| cookie.value().to_owned())
    }

    /// Forgets every cookie of the site: a fresh visitor.
    pub fn clear_cookies(&self) {
        self.run("delete the cookies", self.client().delete_all_cookies());
    }

    /// The messages the page logged at level SEVERE since the last call: script errors,
    /// refused loads, Content-Security-Policy violations.
    pub fn console_errors(&self) -> Vec<String> {
        let log = self.run("read the console", self.client().issue_cmd(BrowserLog));
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Saves the whole page as `target/console-screenshots/NAME.png` and returns the path: the
    /// window grows to the page's height for the picture, then returns to its size.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        // From the top, wherever the last click scrolled to.
        let height = self.script(
            "window.scrollTo(0, 0); return Math.ceil(document.documentElement.scrollHeight);",
            Vec::new(),
        );
        // Bounded: a runaway page must not make a picture of many megabytes.
        let height = height
            .as_u64()
            .unwrap_or(HEIGHT.into())
            .clamp(HEIGHT.into(), 6000) as u32;
        self.run("grow the window", self.client().set_window_size(WIDTH, height));
        let png = self.run("take a screenshot", self.client().screenshot());
        self.run("restore the window", self.client().set_window_size(WIDTH, HEIGHT));
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Ending the session quits Chromium cleanly; bounded, so a hung browser cannot hang
            // the test, which the signal below then settles.
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(5), client.close()).await });
        }
        let group = rustix::process::Pid::from_child(&self.driver);
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = self.driver.wait();
    }
}

/// Where screenshots go: `console-screenshots` in cargo's target folder.
pub fn screenshot_dir() -> PathBuf {
    target_dir().join("console-screenshots")
}

/// A loopback port nothing listens on now. Another process could take it before chromedriver
/// does; chromedriver then fails to start and `connect` says so with its log.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("a bound address").port()
}

/// chromedriver's (non-W3C) command for the page's console log, which it empties on reading.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The harness itself, on a page from a file: the session starts, the page's controls are
    /// read and driven, a screenshot is a PNG, and dropping the browser leaves no process of
    /// chromedriver's group behind.
    #[test]
    fn a_page_is_driven_and_saved_and_the_browser_ends_with_its_drop() {
        let site = tempfile::tempdir().unwrap();
        std::fs::write(
            site.path().join("form.html"),
            r#"<!doctype html><title>t</title><h1>Form</h1>
<label for="name">Name</label><input id="name" name="name">
<button id="go" onclick="document.querySelector('h1').textContent = 'Hello ' + document.querySelector('#name').value">Go</button>
<script>console.error('logged on purpose')</script>"#,
        )
        .unwrap();
        let browser = Browser::start(&format!("file://{}", site.path().display()));
        let group = rustix::process::Pid::from_child(&browser.driver);
        browser.goto("/form.html");
        assert_eq!(browser.text("h1"), "Form");
        browser.fill("#name", "Ada");
        browser.click("#go");
        browser.wait_until(
            "greeted",
            "document.querySelector('h1').textContent === 'Hello Ada'",
        );
        assert_eq!(browser.attributes("input", "name"), [Some("name".to_owned())]);
        // On a fresh page, Tab reaches the first control.
        browser.goto("/form.html");
        browser.press_tab();
        assert_eq!(
            browser.script("return document.activeElement.id", vec![]),
            json!("name")
        );
        assert!(
            browser
                .console_errors()
                .iter()
                .any(|m| m.contains("logged on purpose")),
            "the console log is read"
        );
        let picture = browser.screenshot("harness-self-test");
        let bytes = std::fs::read(&picture).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{}", picture.display());
        std::fs::remove_file(&picture).unwrap();

        drop(browser);
        // Killed processes linger as zombies until init reaps them: wait for that, not longer.
        let dropped = Instant::now();
        while rustix::process::test_kill_process_group(group).is_ok() {
            assert!(
                dropped.elapsed() < Duration::from_secs(5),
                "a process of chromedriver's group outlived the browser"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

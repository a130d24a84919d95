//! The real binary in a real terminal: a private tmux server (its own
//! socket, killed when dropped) with one session, `w`, running a shell.

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `command` in a shell in `work` at `width`×`height` (the shell
    /// stays when the command ends, to show what it left behind).
    pub fn start(socket: &str, work: &str, (width, height): (u16, u16), command: &str) -> Tmux {
        let tmux = Tmux {
            socket: format!("{socket}-{}", std::process::id()),
        };
        let (w, h) = (width.to_string(), height.to_string());
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "w",
            "-x",
            &w,
            "-y",
            &h,
            "-c",
            work,
            "sh",
        ]);
        tmux.literal(command);
        tmux.keys(&["Enter"]);
        tmux
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux (the ./test script installs it)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "w"];
        args.extend_from_slice(keys);
        self.run(&args);
        std::thread::sleep(Duration::from_millis(300));
    }

    pub fn literal(&self, text: &str) {
        self.run(&["send-keys", "-t", "w", "-l", text]);
        std::thread::sleep(Duration::from_millis(300));
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "w"])
    }

    /// A tmux variable of the session's pane (`#{pane_pid}`, `#{alternate_on}`).
    pub fn pane(&self, variable: &str) -> String {
        self.run(&["display-message", "-p", "-t", "w", variable])
    }

    /// The screen once `ok` holds, or a failure showing it after 60 s.
    pub fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited 60 s for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

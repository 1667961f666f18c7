"""The webmail in a real browser (Debian's chromium and chromedriver, driven
by python3-selenium, headless), against a running mail-server.

Environment: BASE (https://localhost:PORT), SMTP and IMAP ports, ARTIFACTS
(a directory for screenshots). Prints one JSON object with what it saw;
every check here also asserts, so a failure names its step.
"""

import http.client
import http.server
import imaplib
import json
import os
import smtplib
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE = os.environ["BASE"]
SMTP = int(os.environ["SMTP"])
IMAP = int(os.environ["IMAP"])
ARTIFACTS = os.environ["ARTIFACTS"]
os.makedirs(ARTIFACTS, exist_ok=True)
seen = {}


# ---- a loopback web server that counts what the browser fetches from it ----
hits = []


class Tracker(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.end_headers()
        self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

    def log_message(self, *args):
        pass


tracker = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Tracker)
TRACKER = f"http://127.0.0.1:{tracker.server_address[1]}"
threading.Thread(target=tracker.serve_forever, daemon=True).start()


def deliver(sender, subject, body, html=False, extra=""):
    kind = "text/html" if html else "text/plain"
    message = (
        f"From: {sender}\r\nTo: alice@example.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}.{time.time()}@test>\r\n{extra}"
        f"MIME-Version: 1.0\r\nContent-Type: {kind}; charset=utf-8\r\n\r\n{body}\r\n"
    )
    with smtplib.SMTP("127.0.0.1", SMTP) as s:
        s.sendmail(sender, ["alice@example.test"], message.encode())


def imap(user):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    client = imaplib.IMAP4("127.0.0.1", IMAP)
    client.starttls(context)
    client.login(user, f"{user}-pw")
    return client


def imap_find(user, folder, subject, wait=20):
    """The raw message in `folder` whose subject is `subject`, waiting for it."""
    deadline = time.time() + wait
    while True:
        client = imap(user)
        client.select(f'"{folder}"')
        _, data = client.search(None, "SUBJECT", f'"{subject}"')
        ids = data[0].split()
        if ids:
            _, fetched = client.fetch(ids[-1], "(FLAGS BODY.PEEK[])")
            client.logout()
            return fetched[0][0].decode(), fetched[0][1].decode("utf-8", "replace")
        client.logout()
        assert time.time() < deadline, f"{subject!r} never reached {user}'s {folder}"
        time.sleep(0.3)


def shot(name):
    driver.save_screenshot(os.path.join(ARTIFACTS, f"{name}.png"))


def wait_for(condition, what, timeout=20):
    try:
        return WebDriverWait(driver, timeout).until(condition)
    except TimeoutException:
        shot("failed-" + what.replace(" ", "-"))
        raise AssertionError(f"timed out waiting for {what}")


def click(by, what):
    """Clicks an element, finding it again if a redraw replaced it."""
    for _ in range(20):
        try:
            driver.find_element(by, what).click()
            return
        except StaleElementReferenceException:
            time.sleep(0.1)
    raise AssertionError(f"{what} kept being redrawn")


def row(subject):
    return f"//div[contains(@class,'row')][.//span[@class='row-subject' and text()={json.dumps(subject)}]]"


def texts(by, what):
    """The texts of the elements found, read again if a redraw (new mail,
    a push) replaced them between finding and reading."""
    for _ in range(50):
        try:
            return [e.text for e in driver.find_elements(by, what)]
        except StaleElementReferenceException:
            time.sleep(0.1)
    raise AssertionError(f"{what} kept being redrawn")


def unread_count(role):
    counts = texts(By.CSS_SELECTOR, f".folder[data-role='{role}'] .unread-count")
    return counts[0] if counts else "0"


# ---- HTTP-level checks: headers, cookie attributes, CSRF ----
host = urllib.parse.urlparse(BASE)
insecure = ssl._create_unverified_context()


def request(method, path, body=None, headers=None):
    conn = http.client.HTTPSConnection(host.hostname, host.port, context=insecure, timeout=20)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response, data


response, _ = request("GET", "/")
policy = response.getheader("Content-Security-Policy")
assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("style-src")[0], policy
assert response.getheader("X-Frame-Options") == "DENY"
response, _ = request("POST", "/webmail/login", "user=alice&password=alice-pw",
                      {"Content-Type": "application/x-www-form-urlencoded"})
assert response.status == 403, "a form post (as another site could send) must not log in"
response, _ = request("POST", "/webmail/login", json.dumps({"user": "alice", "password": "alice-pw"}),
                      {"Content-Type": "application/json", "Origin": "https://evil.example"})
assert response.status == 403, "a login from another origin must be refused"
response, _ = request("POST", "/webmail/login", json.dumps({"user": "alice", "password": "alice-pw"}),
                      {"Content-Type": "application/json"})
assert response.status == 200
cookie = response.getheader("Set-Cookie")
for attribute in ["HttpOnly", "Secure", "SameSite=Strict"]:
    assert attribute in cookie, cookie
session = cookie.split(";")[0]
csrf = json.loads(_)["csrf"]
call = json.dumps({"using": ["urn:ietf:params:jmap:core"], "methodCalls": [["Core/echo", {"x": 1}, "c"]]})
response, _ = request("POST", "/jmap/api", call, {"Cookie": session, "Content-Type": "application/json"})
assert response.status == 401, "the cookie alone must not authorise a change"
response, _ = request("POST", "/jmap/api", call, {"Cookie": session, "X-CSRF-Token": "guess"})
assert response.status == 401
response, data = request("POST", "/jmap/api", call, {"Cookie": session, "X-CSRF-Token": csrf})
assert response.status == 200, data
seen["cookie"] = cookie
seen["policy"] = policy

# ---- mail waiting before the login ----
deliver("Bob <bob@example.test>", "Lunch plans", "Shall we meet at noon?")
deliver(
    "News <news@elsewhere.example>",
    "Newsletter",
    f"<p id='greeting'>Hello <b>reader</b></p><script>fetch('{TRACKER}/script')</script>"
    f"<img src='{TRACKER}/pixel.gif' alt='pixel'><img src='x' onerror=\"fetch('{TRACKER}/onerror')\">"
    f"<a href='javascript:fetch(\"{TRACKER}/js\")'>click</a>",
    html=True,
)
imap_find("alice", "INBOX", "Newsletter")

options = webdriver.ChromeOptions()
for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--ignore-certificate-errors", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--window-size=1400,900", f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}"]:
    options.add_argument(flag)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(30)
try:
    # ---- log in; folders with unread counts ----
    driver.get(BASE + "/")
    wait_for(EC.visibility_of_element_located((By.ID, "login-user")), "the login form")
    driver.find_element(By.ID, "login-user").send_keys("alice")
    driver.find_element(By.ID, "login-password").send_keys("wrong")
    click(By.ID, "login-submit")
    wait_for(EC.text_to_be_present_in_element((By.ID, "login-error"), "wrong"), "the login error")
    driver.find_element(By.ID, "login-password").clear()
    driver.find_element(By.ID, "login-password").send_keys("alice-pw")
    click(By.ID, "login-submit")
    wait_for(EC.presence_of_element_located((By.XPATH, row("Lunch plans"))), "the inbox listing")
    wait_for(lambda d: unread_count("inbox") == "2", "two unread in the inbox")
    seen["folders"] = [f.get_attribute("data-name") for f in driver.find_elements(By.CSS_SELECTOR, ".folder")]
    assert not driver.execute_script("return document.cookie"), "the session cookie is visible to scripts"
    shot("01-inbox")

    # ---- read a message delivered by SMTP ----
    click(By.XPATH, row("Lunch plans"))
    wait_for(EC.frame_to_be_available_and_switch_to_it((By.CSS_SELECTOR, "iframe.message-body")), "the message frame")
    wait_for(EC.text_to_be_present_in_element((By.TAG_NAME, "body"), "Shall we meet at noon?"), "the message text")
    driver.switch_to.default_content()
    wait_for(lambda d: unread_count("inbox") == "1", "the message marked read")
    shot("02-reading")

    # ---- reply with an attachment ----
    attachment = os.path.join(tempfile.mkdtemp(), "agenda.txt")
    with open(attachment, "w") as f:
        f.write("1. soup\n2. more soup\n")
    click(By.ID, "reply")
    wait_for(EC.visibility_of_element_located((By.ID, "composer")), "the composer")
    assert driver.find_element(By.ID, "compose-to").get_attribute("value") == "Bob <bob@example.test>"
    assert driver.find_element(By.ID, "compose-subject").get_attribute("value") == "Re: Lunch plans"
    driver.find_element(By.ID, "compose-body").send_keys("Noon works, agenda attached.")
    driver.find_element(By.ID, "compose-files").send_keys(attachment)
    wait_for(EC.text_to_be_present_in_element((By.ID, "compose-attachments"), "agenda.txt"), "the upload")
    shot("03-reply")
    click(By.ID, "compose-send")
    wait_for(EC.text_to_be_present_in_element((By.ID, "status"), "Sent."), "the reply to be sent")
    flags, reply = imap_find("bob", "INBOX", "Re: Lunch plans")
    assert "Noon works, agenda attached." in reply, reply
    assert 'filename="agenda.txt"' in reply or "filename=agenda.txt" in reply, reply
    assert "In-Reply-To: <Lunch.plans." in reply, reply
    flags, copy = imap_find("alice", "Sent", "Re: Lunch plans")
    assert "\\Seen" in flags and "\\Draft" not in flags, flags
    seen["reply"] = reply

    # ---- a new delivery appears without a reload ----
    driver.execute_script("window.notReloaded = true")
    deliver("Carol <carol@elsewhere.example>", "Fresh news", "Just arrived.")
    wait_for(EC.presence_of_element_located((By.XPATH, row("Fresh news"))), "push of a new delivery")
    assert driver.execute_script("return window.notReloaded === true"), "the page was reloaded"
    shot("04-pushed")

    # ---- HTML mail: the script never runs, the remote image waits ----
    click(By.XPATH, row("Newsletter"))
    wait_for(EC.visibility_of_element_located((By.CSS_SELECTOR, ".images-banner")), "the blocked-images banner")
    wait_for(EC.frame_to_be_available_and_switch_to_it((By.CSS_SELECTOR, "iframe.message-body")), "the frame")
    wait_for(EC.text_to_be_present_in_element((By.TAG_NAME, "body"), "Hello reader"), "the newsletter text")
    assert not driver.find_elements(By.TAG_NAME, "script"), driver.page_source
    remote = [i.get_attribute("src") for i in driver.find_elements(By.TAG_NAME, "img")]
    assert not any(s and s.startswith("http") for s in remote), remote
    driver.switch_to.default_content()
    time.sleep(1.5)
    assert hits == [], f"the browser fetched {hits}"
    shot("05-html-blocked")
    click(By.CSS_SELECTOR, ".show-images")
    wait_for(lambda d: "/pixel.gif" in hits, "the remote image once allowed")
    time.sleep(0.5)
    assert set(hits) == {"/pixel.gif"}, f"the browser fetched {hits}"
    seen["tracker"] = sorted(set(hits))

    # ---- flag, move, delete, search ----
    click(By.ID, "flag")
    wait_for(lambda d: "\\Flagged" in imap_find("alice", "INBOX", "Newsletter")[0], "the flag over IMAP", 10)
    click(By.XPATH, row("Fresh news"))
    wait_for(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".message-head h2"), "Fresh news"), "opening Fresh news")
    Select(driver.find_element(By.ID, "move")).select_by_visible_text("Archive")
    wait_for(EC.invisibility_of_element_located((By.XPATH, row("Fresh news"))), "the move out of the inbox")
    imap_find("alice", "Archive", "Fresh news")
    click(By.XPATH, row("Newsletter"))
    wait_for(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".message-head h2"), "Newsletter"), "opening Newsletter")
    click(By.ID, "delete")
    wait_for(EC.invisibility_of_element_located((By.XPATH, row("Newsletter"))), "the delete")
    imap_find("alice", "Trash", "Newsletter")
    search = driver.find_element(By.ID, "search")
    search.send_keys("noon")
    search.submit()
    wait_for(EC.presence_of_element_located((By.XPATH, row("Re: Lunch plans"))), "search results")
    subjects = texts(By.CSS_SELECTOR, ".row .row-subject")
    # One row per thread: the lunch thread (the message and its reply), newest first.
    assert subjects == ["Re: Lunch plans"], subjects
    assert "(2)" in texts(By.XPATH, row("Re: Lunch plans"))[0]
    seen["search"] = subjects
    shot("06-search")

    # ---- a long folder comes a page at a time ----
    with smtplib.SMTP("127.0.0.1", SMTP) as s:
        for n in range(55):
            s.sendmail("bob@example.test", ["alice@example.test"],
                       f"From: bob@example.test\r\nSubject: Bulk {n:02}\r\nMessage-ID: <bulk{n}@test>\r\n\r\nitem {n}\r\n".encode())
    search = driver.find_element(By.ID, "search")
    search.clear()
    click(By.CSS_SELECTOR, ".folder[data-role='inbox']")
    wait_for(EC.presence_of_element_located((By.XPATH, row("Bulk 54"))), "the newest of the bulk")
    wait_for(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".row")) == 50, "one page of 50")
    older = texts(By.ID, "older")
    assert older and "(6 more)" in older[0], older
    click(By.ID, "older")
    wait_for(EC.presence_of_element_located((By.XPATH, row("Lunch plans"))), "the older page")
    assert len(driver.find_elements(By.CSS_SELECTOR, ".row")) == 56
    assert not driver.find_elements(By.ID, "older")
    seen["paged"] = 56

    # ---- sign out: the session is gone ----
    click(By.ID, "logout")
    wait_for(EC.visibility_of_element_located((By.ID, "login-user")), "the login form after sign-out")
    response, _ = request("POST", "/jmap/api", call, {"Cookie": session, "X-CSRF-Token": csrf})
    assert response.status == 200, "the other (non-browser) session is still valid"
    console = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    seen["console_errors"] = [e["message"] for e in console]
finally:
    driver.quit()
    tracker.shutdown()

print(json.dumps(seen))
sys.stdout.flush()

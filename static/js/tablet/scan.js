// Scanning a lot or serial with the tablet's camera, beside the keyboard-wedge scanner.
//
// A "Scan with camera" button ([data-scan-camera="<input name>"]) shows only where the browser
// offers a camera (navigator.mediaDevices: HTTPS or localhost). It opens a full-screen viewfinder;
// ZXing (served by the app from package.json, no CDN) decodes GS1 DataMatrix, GS1-128 and QR.
// The decoded text goes into the field exactly as a wedge scanner would type it and the form is
// submitted the same way, so one path records it: the raw GS1 element string (FNC1 as GS, a
// symbology identifier such as "]C1") is sent as is and the server reads the lot or serial out
// of it (workorders/gs1.py), as it does for a keyboard scan.
import { showFormError } from "./screen.js";

// ZXing's enum values (its browser build exports BarcodeFormat but not DecodeHintType).
const HINT_POSSIBLE_FORMATS = 2;
const HINT_TRY_HARDER = 3;
// Code 128: a leading FNC1 becomes "]C1" and a later one GS, instead of being dropped.
const HINT_ASSUME_GS1 = 8;

let library = null;
let scanning = null; // { overlay, controls, input, form }

function hasCamera() {
  return !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

// The library is 440 kB: loaded on the first scan only, as a classic script (its UMD build sets
// window.ZXingBrowser); CSP allows it because it comes from this server.
function loadLibrary(url) {
  if (!library) {
    library = new Promise(function (resolve, reject) {
      if (window.ZXingBrowser) return resolve(window.ZXingBrowser);
      const script = document.createElement("script");
      script.src = url;
      script.onload = function () {
        if (window.ZXingBrowser) resolve(window.ZXingBrowser);
        else reject(new Error("no decoder"));
      };
      script.onerror = function () {
        library = null;
        reject(new Error(gettext("The camera scanner could not be loaded; use the scanner or type the lot.")));
      };
      document.head.appendChild(script);
    });
  }
  return library;
}

function makeReader(ZX) {
  const F = ZX.BarcodeFormat;
  const hints = new Map();
  hints.set(HINT_POSSIBLE_FORMATS, [F.DATA_MATRIX, F.CODE_128, F.QR_CODE]);
  hints.set(HINT_TRY_HARDER, true);
  hints.set(HINT_ASSUME_GS1, true);
  return new ZX.BrowserMultiFormatReader(hints, { delayBetweenScanAttempts: 150 });
}

function overlay() {
  let el = document.getElementById("scan-overlay");
  if (el) return el;
  el = document.createElement("dialog");
  el.id = "scan-overlay";
  el.className = "scan-overlay";
  el.setAttribute("aria-label", gettext("Scan with camera"));
  el.innerHTML =
    '<video class="scan-video" muted playsinline></video>' +
    '<div class="scan-frame" aria-hidden="true"></div>' +
    '<p class="scan-hint" data-scan-hint></p>' +
    '<button type="button" class="btn btn-big btn-quiet scan-cancel" data-scan-cancel></button>';
  el.querySelector("[data-scan-hint]").textContent = gettext("Hold the label in the frame.");
  el.querySelector("[data-scan-cancel]").textContent = gettext("Cancel");
  // Escape closes the dialog: stop the camera too.
  el.addEventListener("cancel", function () { stop(); });
  document.body.appendChild(el);
  return el;
}

function stop() {
  if (!scanning) return;
  const s = scanning;
  scanning = null;
  if (s.controls) s.controls.stop();
  if (s.overlay.open) s.overlay.close();
  return s;
}

function fail(s, text) {
  stop();
  showFormError(s.form, text);
  s.input.focus();
}

function cameraRefusal(err) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError") {
    return gettext("The camera is not allowed on this tablet: use the scanner or type the lot.");
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return gettext("No camera found: use the scanner or type the lot.");
  }
  if (name === "NotReadableError") return gettext("The camera is busy: close other apps and try again.");
  return (err && err.message) || gettext("The camera could not start.");
}

function start(button) {
  const form = button.closest("form");
  const input = form && form.elements[button.dataset.scanCamera];
  if (!input || scanning) return;
  showFormError(form, "");
  const el = overlay();
  const s = { overlay: el, controls: null, input: input, form: form };
  scanning = s;
  el.querySelector("[data-scan-hint]").textContent = gettext("Starting the camera…");
  el.showModal();
  const video = el.querySelector("video");
  loadLibrary(button.dataset.scanLibrary)
    .then(function (ZX) {
      if (scanning !== s) return null;
      const constraints = { video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } } };
      return makeReader(ZX).decodeFromConstraints(constraints, video, function (result) {
        if (result && scanning === s) found(s, result.getText());
      });
    })
    .then(function (controls) {
      if (!controls) return;
      if (scanning !== s) {
        controls.stop(); // cancelled while the camera was starting
        return;
      }
      s.controls = controls;
      el.querySelector("[data-scan-hint]").textContent = gettext("Hold the label in the frame.");
    })
    .catch(function (err) {
      if (scanning === s) fail(s, err && err.name ? cameraRefusal(err) : err.message);
    });
}

// What a wedge scanner does: the text in the field, then Enter (tablet.js takes the submit).
function found(s, text) {
  stop();
  s.input.value = text;
  s.input.dispatchEvent(new Event("input", { bubbles: true }));
  s.form.requestSubmit();
}

function onClick(evt) {
  if (evt.target.closest("[data-scan-cancel]")) {
    const s = stop();
    if (s) s.input.focus();
    return;
  }
  const button = evt.target.closest("[data-scan-camera]");
  if (button && !button.disabled) start(button);
}

// The button's CSS shows it only under html.has-camera, so screens swapped in by htmx need nothing.
if (hasCamera()) {
  document.documentElement.classList.add("has-camera");
  document.addEventListener("click", onClick);
  // A dialog closed some other way (the consume dialog itself closing) ends the scan.
  document.addEventListener("close", function (evt) {
    if (scanning && evt.target !== scanning.overlay && evt.target.contains(scanning.input)) stop();
  }, true);
}

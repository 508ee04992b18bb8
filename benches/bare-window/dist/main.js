// Reports first content the same way Homeline's UI does, so both start-up figures mean the same.
requestAnimationFrame(() => window.__TAURI_INTERNALS__.invoke('ui_ready'));

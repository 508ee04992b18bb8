import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';

// The Tauri shell loads `dist/` through its own asset protocol under a strict CSP
// (`default-src 'self'; style-src 'self'; script-src 'self'; ...`), so the build must
// emit only external files: CSS as .css files (Svelte's `emitCss`, the default) and
// one module script with a `src`. Nothing here may add inline <script> or <style>.
export default defineConfig({
  plugins: [svelte(), svelteTesting()],
  // src-tauri/tauri.conf.json's `devUrl` points here; a fixed port so a busy one fails loudly.
  server: { port: 5173, strictPort: true, watch: { ignored: ['**/src-tauri/**'] } },
  clearScreen: false,
  build: {
    // WebKitGTK 2.4x/2.50 on Linux, WebView2 on Windows, WKWebView on macOS 12+.
    target: ['es2021', 'chrome105', 'safari15'],
    // All three engines support <link rel="modulepreload">: no polyfill code.
    modulePreload: { polyfill: false },
    cssCodeSplit: false,
    sourcemap: false,
    outDir: 'dist',
    emptyOutDir: true,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    restoreMocks: true,
  },
});

import { mount } from 'svelte';
import App from './App.svelte';
import { demoOptions } from './lib/demo-options';
import { MockBackend } from './lib/mock-backend';
import { TauriBackend, inTauri } from './lib/tauri-backend';
import './app.css';

// Inside the Homeline shell talk to the real phone; in a plain browser (`npm run dev`) use
// the in-memory mock, and say so on screen so it never passes for the real thing.
const demo = !inTauri(window);
const backend = demo ? new MockBackend(demoOptions(window.location.search)) : new TauriBackend();

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');

export default mount(App, { target, props: { backend, demo } });

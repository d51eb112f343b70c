// htm bound to Preact: JSX-like templates in plain browser modules, no build step.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);

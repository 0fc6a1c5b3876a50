// placeholder: replaced by the real screens
export const views = [];

// tailwatch bridge page: a flight's table row and its lines on the map lit together (hover, or Tab to the row).
(function(){
function hl(k,on){document.querySelectorAll('[data-flight="'+k+'"]').forEach(function(el){el.classList.toggle('hl',on);});}
document.querySelectorAll('tr.flight[data-flight], svg.bridge-map g.flight').forEach(function(el){var k=el.getAttribute('data-flight');
  el.addEventListener('mouseenter',function(){hl(k,true);});el.addEventListener('mouseleave',function(){hl(k,false);});
  if(el.tagName==='TR'){el.tabIndex=0;el.addEventListener('focus',function(){hl(k,true);});el.addEventListener('blur',function(){hl(k,false);});}});
})();
